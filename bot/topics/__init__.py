"""The topic model beside DIET: what practical question a first message asks."""
