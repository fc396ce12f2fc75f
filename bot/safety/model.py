"""The safety classifier: is this message a cry for help, and of which kind?

It decides apart from the topic intents, so that a topic never out-votes danger.
Three kinds of features, each chosen to carry beyond the training words:
- character n-grams of the normalised text (SMS spelling, typos, missing accents);
- word uni- and bigrams;
- syntax from spaCy when a parse is given: who does what to whom and when
  (« il veut me jeter » is an attack, « je veux me jeter » is suicide, « il me battait »
  is the past), plus the sentence's word vectors.
A plain logistic regression on top: fast (well under a millisecond a message), and its
probabilities are what the decision thresholds read.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.danger import AGGRESSOR_PRESENT, CHILD, DANGER, SUICIDE
from bot.text import normalize

NONE = "aucun"
CRITICAL = (DANGER, AGGRESSOR_PRESENT, SUICIDE, CHILD)
LABELS = (NONE, *CRITICAL)
VECTOR_WEIGHT = 0.6  # dense vectors beside tf-idf rows of norm 1

Parse = Callable[[str], Any]  # text -> a spaCy Doc (or None)

_FIRST = {"je", "j", "me", "m", "moi"}
_THIRD = {"il", "elle", "ils", "elles", "on", "lui"}


def _person(token: Any) -> str:
    low = token.lower_.strip("'’")
    return "1" if low in _FIRST else "3" if low in _THIRD else "n"


def syntax_tokens(doc: Any) -> list[str]:
    """Pseudo-words from a spaCy parse: subject person, verb lemma, object « me », tense.

    Children are found from the head indices, not `Token.children`: iterating children of a
    parse made inside Rasa's pipeline has crashed the process (seen on « qu'est-ce que… »).
    """
    if doc is None:
        return []
    tokens = list(doc)
    heads = [t.head.i - tokens[0].i if tokens else 0 for t in tokens]
    children: list[list[int]] = [[] for _ in tokens]
    for i, h in enumerate(heads):
        if 0 <= h < len(tokens) and h != i:
            children[h].append(i)
    out: list[str] = []
    for i, tok in enumerate(tokens):
        if tok.pos_ not in ("VERB", "AUX"):
            continue
        subj = "x"
        obj1 = False
        for c in children[i]:
            child = tokens[c]
            if child.dep_.startswith("nsubj"):
                subj = _person(child)
            elif child.dep_ in ("obj", "iobj", "expl:pv", "expl", "expl:comp") and child.lower_.strip("'’") in _FIRST:
                obj1 = True
        # An infinitive takes the subject of the verb it depends on (« il veut me tuer »).
        h = heads[i]
        if subj == "x" and tok.dep_ in ("xcomp", "ccomp") and 0 <= h < len(tokens) and h != i:
            for c in children[h]:
                if tokens[c].dep_.startswith("nsubj"):
                    subj = _person(tokens[c])
        tense = "".join(tok.morph.get("Tense")) or ("Inf" if "Inf" in tok.morph.get("VerbForm") else "")
        mood = "".join(tok.morph.get("Mood"))
        lemma = tok.lemma_.lower()
        out += [f"v_{subj}_{lemma}", f"t_{subj}_{tense}{mood}"]
        if obj1:
            out += [f"o_{subj}_{lemma}", f"o_{subj}"]
    return out


def doc_vector(doc: Any, size: int) -> np.ndarray:
    """The sentence vector of a spaCy parse, of norm 1 (zeros without one)."""
    if doc is None or not getattr(doc, "has_vector", False):
        return np.zeros(size, dtype=np.float32)
    vec = np.asarray(doc.vector, dtype=np.float32)
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm else vec


def dense_block(docs: Sequence[Any], size: int) -> sparse.csr_matrix:
    """The parses' sentence vectors, weighted beside tf-idf rows of norm 1 (no column without vectors)."""
    if not size:
        return sparse.csr_matrix((len(docs), 0))
    return sparse.csr_matrix(np.vstack([doc_vector(d, size) * VECTOR_WEIGHT for d in docs]))


def tfidf_row(vectorizer: TfidfVectorizer, text: Any) -> sparse.csr_matrix:
    """`vectorizer.transform([text])` for one message, without sklearn's per-call checks (about
    0.3 ms each, five per turn): counts of the known n-grams, sublinear tf, idf, L2 norm.
    Only for what this module fits (sublinear_tf, idf, norm l2, not binary); else sklearn's."""
    if not (vectorizer.sublinear_tf and vectorizer.use_idf and vectorizer.norm == "l2" and not vectorizer.binary):
        return vectorizer.transform([text])
    vocabulary = vectorizer.vocabulary_
    analyzer = getattr(vectorizer, "_nd_analyzer", None)
    if analyzer is None:  # built once per model
        analyzer = vectorizer._nd_analyzer = vectorizer.build_analyzer()
    counts: dict[int, int] = {}
    for gram in analyzer(text):
        index = vocabulary.get(gram)
        if index is not None:
            counts[index] = counts.get(index, 0) + 1
    width = len(vocabulary)
    if not counts:
        return sparse.csr_matrix((1, width))
    indices = np.fromiter(sorted(counts), dtype=np.int32, count=len(counts))
    values = (1.0 + np.log(np.array([counts[i] for i in indices], dtype=np.float64))) * vectorizer.idf_[indices]
    values /= np.sqrt(np.dot(values, values))
    return sparse.csr_matrix((values, indices, np.array([0, len(indices)], dtype=np.int32)), shape=(1, width))


def class_probabilities(classifier: LogisticRegression, blocks: Sequence[Any]) -> np.ndarray:
    """`classifier.predict_proba` of the features stacked side by side from `blocks`, without
    stacking them and without sklearn's per-call checks (together about 1.5 ms of a turn on one
    message): a multinomial model's probabilities are the softmax of its linear scores."""
    multinomial = len(classifier.classes_) > 2 and classifier.multi_class in ("auto", "multinomial")
    if not multinomial or classifier.solver == "liblinear":
        return classifier.predict_proba(sparse.hstack(list(blocks)).tocsr())
    weights = getattr(classifier, "_nd_weights", None)
    if weights is None:  # the transposed coefficients, contiguous: computed once per model
        weights = np.ascontiguousarray(classifier.coef_.T)
        classifier._nd_weights = weights
    scores = np.tile(classifier.intercept_, (blocks[0].shape[0], 1))
    start = 0
    for block in blocks:
        width = block.shape[1]
        if width:
            scores += np.asarray(block @ weights[start : start + width])
        start += width
    scores -= scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


def _identity(tokens: list[str]) -> list[str]:
    return tokens


@dataclass
class SafetyModel:
    """Trained vectorisers and classifier; `probabilities` is all the rest of the bot needs."""

    words: TfidfVectorizer
    chars: TfidfVectorizer
    syntax: TfidfVectorizer
    classifier: LogisticRegression
    vector_size: int = 0
    labels: tuple[str, ...] = field(default=LABELS)

    # -- training ---------------------------------------------------------
    @classmethod
    def train(cls, examples: Sequence[tuple[str, str]], parse: Optional[Parse] = None, c: float = 4.0) -> "SafetyModel":
        texts = [t for t, _ in examples]
        labels = [lab for _, lab in examples]
        unknown = set(labels) - set(LABELS)
        if unknown:
            raise ValueError(f"unknown safety labels: {sorted(unknown)}")
        docs = [parse(t) for t in texts] if parse else [None] * len(texts)
        vector_size = next((len(d.vector) for d in docs if d is not None and d.has_vector), 0)
        model = cls(
            words=TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True),
            chars=TfidfVectorizer(
                analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, max_features=120_000
            ),
            syntax=TfidfVectorizer(analyzer=_identity, lowercase=False, min_df=1, sublinear_tf=True),
            classifier=LogisticRegression(C=c, max_iter=3000, class_weight="balanced"),
            vector_size=vector_size,
        )
        normalized = [normalize(t) for t in texts]
        features = sparse.hstack(
            [
                model.words.fit_transform(normalized),
                model.chars.fit_transform(normalized),
                model.syntax.fit_transform([["s_", *syntax_tokens(d)] for d in docs]),
                model._dense(docs),
            ]
        ).tocsr()
        model.classifier.fit(features, labels)
        return model

    def _dense(self, docs: list[Any]) -> sparse.csr_matrix:
        return dense_block(docs, self.vector_size)

    def _features(self, texts: Sequence[str], docs: Sequence[Any]) -> list[Any]:
        """The feature blocks, in the order the classifier was trained on them side by side."""
        normalized = [normalize(t) for t in texts]
        return [
            self.words.transform(normalized),
            self.chars.transform(normalized),
            self.syntax.transform([["s_", *syntax_tokens(d)] for d in docs]),
            self._dense(list(docs)),
        ]

    # -- use --------------------------------------------------------------
    def probabilities(self, text: str, doc: Any = None) -> dict[str, float]:
        """One message, the fast way (the same numbers as `probabilities_many`)."""
        normalized = normalize(text)
        blocks = [
            tfidf_row(self.words, normalized),
            tfidf_row(self.chars, normalized),
            tfidf_row(self.syntax, ["s_", *syntax_tokens(doc)]),
            self._dense([doc]),
        ]
        row = class_probabilities(self.classifier, blocks)[0]
        classes = list(self.classifier.classes_)
        return {label: float(row[classes.index(label)]) if label in classes else 0.0 for label in self.labels}

    def probabilities_many(self, texts: Sequence[str], docs: Optional[Sequence[Any]] = None) -> list[dict[str, float]]:
        docs = list(docs) if docs is not None else [None] * len(texts)
        probs = class_probabilities(self.classifier, self._features(texts, docs))
        classes = list(self.classifier.classes_)
        return [
            {label: float(row[classes.index(label)]) if label in classes else 0.0 for label in self.labels}
            for row in probs
        ]

    # -- persistence ------------------------------------------------------
    def dumps(self) -> bytes:
        return pickle.dumps(self)

    @staticmethod
    def loads(data: bytes) -> "SafetyModel":
        model = pickle.loads(data)  # our own model file, written by `rasa train`
        if not isinstance(model, SafetyModel):
            raise TypeError("not a safety model")
        return model
