"""Safety: deciding, apart from the topic, whether a message is a cry for help (issue 9)."""
