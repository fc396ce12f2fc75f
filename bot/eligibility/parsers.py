"""Answers as people write them, turned into values, or refused.

Every parser returns None when it is not sure: a refused answer is asked
again with an example, a misread one would silently change a result.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from bot.text import basic_normalize, normalize

# -- numbers written in words ------------------------------------------------
UNITS = {
    "zero": 0,
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "treize": 13,
    "quatorze": 14,
    "quinze": 15,
    "seize": 16,
    "vingt": 20,
    "vingts": 20,
    "trente": 30,
    "quarante": 40,
    "cinquante": 50,
    "soixante": 60,
    "septante": 70,
    "huitante": 80,
    "nonante": 90,
}
SCALES = {"cent": 100, "cents": 100, "mille": 1000}
# Longer digit runs are not an answer (an account number, a typo): never a number.
MAX_DIGITS = 9


def is_number(token: str) -> bool:
    """ASCII digits only (« ² » and other Unicode digits make int() raise), at most MAX_DIGITS."""
    return token.isascii() and token.isdigit() and len(token) <= MAX_DIGITS


def _too_long(token: str) -> bool:
    return token.isdigit() and not is_number(token)


def words_to_number(tokens: list[str]) -> int | None:
    """['mille', 'deux', 'cents'] -> 1200; None if a token is not a number word."""
    if not tokens:
        return None
    total, current = 0, 0
    for token in tokens:
        if token == "et":
            continue
        if token in UNITS:
            value = UNITS[token]
            # « quatre vingt » is 80: a unit before vingt multiplies it.
            current = current * value if value == 20 and 0 < current < 10 else current + value
        elif token in SCALES:
            scale = SCALES[token]
            if scale == 1000:
                total += (current or 1) * 1000
                current = 0
            else:
                current = (current or 1) * 100
        else:
            return None
    return total + current


def _number_runs(tokens: list[str]) -> list[tuple[int, int, int]]:
    """(start, end, value) of every number, in digits or in words, in the token list."""
    runs, i = [], 0
    while i < len(tokens):
        token = tokens[i]
        if is_number(token):
            runs.append((i, i + 1, int(token)))
            i += 1
            continue
        if token in UNITS or token in SCALES:
            j = i
            while j < len(tokens) and (
                tokens[j] in UNITS
                or tokens[j] in SCALES
                or (tokens[j] == "et" and j + 1 < len(tokens) and tokens[j + 1] in ("un", "une", "demi"))
            ):
                j += 1
            value = words_to_number(tokens[i:j])
            if value is not None:
                runs.append((i, j, value))
            i = max(j, i + 1)
            continue
        i += 1
    return runs


# -- skipping a question -----------------------------------------------------
_SKIP = re.compile(
    r"\b(prefere(rais)? (ne )?pas|veux pas (repondre|dire)|ne (veux|souhaite) pas (repondre|dire|le dire)|"
    r"pas envie de (repondre|dire)|(je )?passe|passer|sauter|suivante|"
    r"(ne )?sais pas|sai pas|sait pas|aucune idee|pas sure?|je ne suis pas sure?|"
    r"refuser repondre|ne pas repondre)\b"
)


def is_skip(text: str) -> bool:
    """« Je préfère ne pas répondre », « je ne sais pas », « on passe »: never a failure."""
    if text.strip().startswith("/refuser_repondre"):
        return True
    return bool(_SKIP.search(normalize(text)))


_STOP = re.compile(
    r"^(stop( stop)*|pause|arrete[rz]?|on arrete( la)?|j arrete|on s arrete|je veux arreter|fin|"
    r"c est bon on arrete|ca suffit)$|"
    r"\b(arrete[rz]? (les|ces|vos|tes|ton|votre|le) (questions?|questionnaire)|stop (les|aux) questions|"
    r"plus de questions?|assez de questions|sortir du questionnaire|quitter le questionnaire|"
    r"fin des questions)\b"
)


def is_stop(text: str) -> bool:
    """« Arrêter les questions », « stop »: she wants the questionnaire to end."""
    if text.strip().startswith("/arreter"):
        return True
    return bool(_STOP.search(normalize(text)))


# -- children ----------------------------------------------------------------
@dataclass(frozen=True)
class Children:
    count: int
    ages_months: tuple[int, ...] = ()  # as many as she gave, maybe fewer than count

    def under(self, years: int) -> int | None:
        """How many are younger than `years`; None if some ages are unknown."""
        if len(self.ages_months) < self.count:
            known_under = sum(1 for a in self.ages_months if a < years * 12)
            return None if known_under < self.count else known_under
        return sum(1 for a in self.ages_months if a < years * 12)


_CHILD_NOUNS = {
    "enfant",
    "enfants",
    "bebe",
    "bebes",
    "fille",
    "filles",
    "fils",
    "garcon",
    "garcons",
    "gamin",
    "gamins",
    "gamine",
    "gamines",
    "petit",
    "petits",
    "petite",
    "petites",
    "grand",
    "grande",
    "grands",
    "grandes",
    "ado",
    "ados",
    "adolescent",
    "adolescente",
    "nourrisson",
    "loulou",
    "loulous",
    "gosse",
    "gosses",
    "minot",
    "minots",
    "jumeaux",
    "jumelles",
    "triples",
    "tripletes",
    "enfan",
    "enfnt",
    "enfents",
}
_SINGULAR_DET = {"un", "une", "mon", "ma"}
_NONE_WORDS = re.compile(
    r"^(non|aucun|aucune|zero|0|rien|personne|pas d enfants?|je n ai pas d enfants?|"
    r"j ai pas d enfants?|pas d enfant a charge|je n en ai pas|j en ai pas|"
    r"aucun enfant|non aucun|non pas d enfants?)$"
)
_VAGUE = {"plusieurs", "beaucoup", "plein", "quelques", "bcp", "certains", "des"}
MAX_CHILDREN = 20
MAX_CHILD_AGE_YEARS = 60


def parse_children(text: str) -> Children | None:
    """« deux enfants », « 2 », « aucun », « un bébé de 8 mois et un grand de 7 ans »."""
    norm = normalize(text)
    if re.search(r"(^|\s)-\s*\d", text):
        return None
    if _NONE_WORDS.match(norm):
        return Children(0)
    tokens = norm.split()
    if not tokens or any(_too_long(t) for t in tokens):
        return None
    runs = _number_runs(tokens)
    ages: list[int] = []
    age_tokens: set[int] = set()
    # Ages: a list of numbers closed by « ans » or « mois » (« de 2, 5 et 9 ans »).
    for k, token in enumerate(tokens):
        if token not in ("an", "ans", "mois"):
            continue
        per = 1 if token == "mois" else 12
        group = []
        j = k
        for start, end, value in reversed(runs):
            if end == j or (end == j - 1 and tokens[j - 1] == "et"):
                group.append((start, value))
                j = start
        if not group:
            continue
        # « un an et demi »
        half = 6 if per == 12 and k + 2 < len(tokens) and tokens[k + 1] == "et" and tokens[k + 2] == "demi" else 0
        for start, value in reversed(group):
            ages.append(value * per + (half if start == group[0][0] else 0))
            age_tokens.update(range(start, k + 1))
    if any(a > MAX_CHILD_AGE_YEARS * 12 for a in ages):
        return None
    counts = []
    for start, end, value in runs:
        if start in age_tokens:
            continue
        if tokens[start] in ("un", "une") and end - start == 1:
            continue  # an article as often as a number: counted with the nouns below
        counts.append(value)
    nouns = sum(1 for i, t in enumerate(tokens[1:], 1) if t in _CHILD_NOUNS and tokens[i - 1] in _SINGULAR_DET)
    twins = (
        2
        if ("jumeaux" in tokens or "jumelles" in tokens)
        else 3
        if ("triples" in tokens or "tripletes" in tokens)
        else 0
    )
    if len(counts) > 1:
        return None  # « 2 ou 3 »: ask again rather than guess
    if counts:
        count = counts[0]
    elif nouns or twins:
        count = nouns + twins
    elif ages:
        count = len(ages)
    elif norm in ("un", "une", "un seul", "une seule", "un enfant", "1 seul"):
        count = 1
    else:
        return None
    if any(t in _VAGUE for t in tokens) and not counts and not nouns and not twins:
        return None
    if twins and not counts and ages and len(ages) == 1:
        ages = ages * twins
    if count > MAX_CHILDREN or len(ages) > count:
        return None
    return Children(count, tuple(ages))


# -- amounts -----------------------------------------------------------------
@dataclass(frozen=True)
class Amount:
    """Monthly net euros, as an interval: « environ 900 » is not exactly 900."""

    low: float
    high: float


_MONEY = re.compile(r"\d{1,3}(?:[ .\u202f\u00a0]\d{3})+(?:,\d{1,2})?|\d+(?:[.,]\d+)?")
_NO_INCOME = re.compile(
    r"^(0|zero|rien|aucun|aucune|pas de (revenus?|salaire|ressources?)|aucun revenu|"
    r"aucune ressource|sans (revenus?|ressources?)|je n ai (rien|pas de revenus?)|"
    r"j ai rien|je gagne rien|rien du tout|0 euros?|zero euros?|nada)$"
)
_APPROX = re.compile(
    r"\b(environ|env|a peu pres|apeupres|autour de|dans les|pres de|vers|presque|"
    r"a peu pres|approximativement|grosso modo|plus ou moins|quasi)\b"
)
MAX_MONTHLY = 50_000


def _money_value(raw: str) -> float:
    raw = re.sub(r"[ .\u202f\u00a0](?=\d{3}\b)", "", raw)
    return float(raw.replace(",", "."))


def parse_amount(text: str, smic_net: float | None = None) -> Amount | None:
    """« 1 200 € », « 1200 euros net », « environ 900 », « entre 800 et 1000 », « le smic »."""
    lowered = text.lower().replace("€", " euros ")
    norm = basic_normalize(lowered)
    if _NO_INCOME.match(norm):
        return Amount(0, 0)
    # « 1,5k », « 2k »
    lowered = re.sub(
        r"(?<![\d.,])(\d{1,6}(?:[.,]\d{1,3})?)\s*k\b",
        lambda m: str(round(float(m.group(1).replace(",", ".")) * 1000)),
        lowered,
    )
    if re.search(r"(^|\s)-\s*\d", lowered) or _CHILD_NOUNS & set(norm.split()):
        return None  # a negative income, or the number of her children
    lowered = lowered.replace("-", " à ")
    matches = list(_MONEY.finditer(lowered))
    values = [_money_value(m.group()) for m in matches]
    if not values:
        words = [t for t in norm.split() if t not in ("euros", "euro", "net", "nets", "par", "mois", "environ")]
        spoken = (
            words_to_number([t for t in words if t in UNITS or t in SCALES or t == "et"])
            if any(t in SCALES for t in words) or any(t in UNITS for t in words)
            else None
        )
        if spoken is not None and all(
            t in UNITS or t in SCALES or t == "et" or _APPROX.search(t)
            for t in words
            if t not in ("a", "peu", "pres", "autour", "de")
        ):
            values = [float(spoken)]
        elif smic_net and re.search(r"\bsmic\b", norm):
            half = re.search(r"\b(demi|mi temps)\b", norm)
            value = smic_net / 2 if half else smic_net
            return Amount(round(value * 0.95), round(value * 1.05))
    if not values or len(values) > 2:
        return None
    if len(values) == 2:
        between = basic_normalize(lowered[matches[0].end() : matches[1].start()]).replace("euros", "").split()
        before = basic_normalize(lowered[: matches[0].start()]).split()
        if not (between in (["a"], ["ou"]) or (between == ["et"] and before[-1:] == ["entre"])):
            return None
    factor = 1.0
    if re.search(r"\b(par an|l an|annuel|annuels|a l annee|par annee)\b", norm):
        factor = 1 / 12
    elif re.search(r"\b(par semaine|la semaine|hebdo)\b", norm):
        factor = 52 / 12
    low, high = min(values) * factor, max(values) * factor
    if high > MAX_MONTHLY or low < 0:
        return None
    if _APPROX.search(norm) and low == high:
        low, high = low * 0.9, low * 1.1
    return Amount(round(low, 2), round(high, 2))


# -- dates -------------------------------------------------------------------
@dataclass(frozen=True)
class DateRange:
    """When something happened, as precisely as she said it."""

    earliest: dt.date
    latest: dt.date


MONTHS = {
    "janvier": 1,
    "janv": 1,
    "fevrier": 2,
    "fevr": 2,
    "fev": 2,
    "mars": 3,
    "avril": 4,
    "avr": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "juil": 7,
    "aout": 8,
    "septembre": 9,
    "sept": 9,
    "octobre": 10,
    "oct": 10,
    "novembre": 11,
    "nov": 11,
    "decembre": 12,
    "dec": 12,
}
MAX_YEARS_BACK = 30


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _month_range(year: int, month: int) -> DateRange:
    return DateRange(dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1]))


def _clip(found: DateRange | None, today: dt.date) -> DateRange | None:
    if found is None or found.earliest > today:
        return None  # in the future: refused, asked again
    if found.latest < _add_months(today, -12 * MAX_YEARS_BACK):
        return None
    return DateRange(found.earliest, min(found.latest, today))


def parse_date(text: str, today: dt.date) -> DateRange | None:
    """« le mois dernier », « il y a 2 ans », « en mars », « le 12/03/2026 », « hier »."""
    return _clip(_parse_date(text, today), today)


MIN_YEAR, MAX_YEAR = 1900, 2100


def _year(raw: str) -> int:
    """« 26 » is 2026; « 0000 » stays 0 (refused by the caller)."""
    year = int(raw)
    return year + 2000 if len(raw) <= 2 else year


def _parse_date(text: str, today: dt.date) -> DateRange | None:
    norm = normalize(text.replace("/", " slash ").replace(".", " slash "))
    if re.search(r"\b(dans|prochain|prochaine|demain|bientot)\b", norm):
        return None
    numeric = re.search(r"\b(\d{1,2}) slash (\d{1,2}) slash (\d{2,4})\b", norm)
    if numeric:
        day, month, year = int(numeric.group(1)), int(numeric.group(2)), _year(numeric.group(3))
        if not MIN_YEAR <= year <= MAX_YEAR:
            return None
        try:
            date = dt.date(year, month, day)
        except ValueError:
            return None
        return DateRange(date, date)
    month_year = re.search(r"\b(\d{1,2}) slash (\d{4})\b", norm)
    if month_year:  # « 13/2026 », « 03/0000 »: not a month, and not to be read as a bare year
        if not (1 <= int(month_year.group(1)) <= 12 and MIN_YEAR <= int(month_year.group(2)) <= MAX_YEAR):
            return None
        return _month_range(int(month_year.group(2)), int(month_year.group(1)))
    if re.fullmatch(r"(c est )?(aujourd hui|ce matin|ce soir|tout a l heure|cet apres midi)", norm):
        return DateRange(today, today)
    if re.search(r"\bavant hier\b", norm):
        when = today - dt.timedelta(days=2)
        return DateRange(when, when)
    if re.search(r"\bhier\b", norm):
        when = today - dt.timedelta(days=1)
        return DateRange(when, when)
    if re.search(r"\b(cette semaine)\b", norm):
        return DateRange(today - dt.timedelta(days=today.weekday()), today)
    if re.search(r"\b(la semaine (derniere|passee))\b", norm):
        monday = today - dt.timedelta(days=today.weekday() + 7)
        return DateRange(monday, monday + dt.timedelta(days=6))
    if re.search(r"\b(le mois (dernier|passe))\b", norm):
        last = _add_months(today, -1)
        return _month_range(last.year, last.month)
    if re.search(r"\b(ce mois ci|ce mois)\b", norm):
        return DateRange(today.replace(day=1), today)
    if re.search(r"\b(l annee (derniere|passee)|l an (dernier|passe))\b", norm):
        return DateRange(dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31))
    if re.search(r"\bcette annee\b", norm):
        return DateRange(dt.date(today.year, 1, 1), today)
    ago = re.search(r"\b(il y a|ca fait|y a|depuis)\b(.*)", norm)
    if ago and any(_too_long(t) for t in norm.split()):
        return None
    if ago:
        return _ago(ago.group(2).split(), today)
    tokens = norm.split()
    months = [(i, MONTHS[t]) for i, t in enumerate(tokens) if t in MONTHS]
    years = [int(t) for t in tokens if is_number(t) and 1990 <= int(t) <= 2100]
    if len(months) > 1 or len(years) > 1:
        return None
    # « 12 mars 0000 »: a year out of range is not to be replaced by this year.
    if any(_too_long(t) or (t.isdigit() and len(t) >= 3 and int(t) not in years) for t in tokens):
        return None
    if months:
        i, month = months[0]
        mday = int(tokens[i - 1]) if i > 0 and is_number(tokens[i - 1]) and 1 <= int(tokens[i - 1]) <= 31 else None
        year = years[0] if years else (today.year if month <= today.month else today.year - 1)
        if mday is None:
            return _month_range(year, month)
        try:
            date = dt.date(year, month, mday)
        except ValueError:
            return None
        if not years and date > today:
            date = date.replace(year=date.year - 1)
        return DateRange(date, date)
    if years and len(tokens) <= 3:
        return DateRange(dt.date(years[0], 1, 1), dt.date(years[0], 12, 31))
    return None


def _ago(tokens: list[str], today: dt.date) -> DateRange | None:
    runs = _number_runs(tokens)
    if len(runs) != 1:
        # « il y a un an », « il y a quelques jours » are handled below.
        if not runs and tokens[:1] == ["quelques"] and len(tokens) > 1:
            runs = [(0, 1, 3)]
        elif len(runs) > 1 and not (len(runs) == 2 and tokens[runs[1][0]] in ("un", "une")):
            return None
        if not runs:
            return None
    start, end, value = runs[0]
    if value > 366 * (MAX_YEARS_BACK + 1):
        return None  # further back than any unit allows: not an answer (and no date overflow)
    unit = tokens[end] if end < len(tokens) else ""
    half = tokens[end + 1 : end + 3] == ["et", "demi"]
    if unit in ("jour", "jours"):
        day = today - dt.timedelta(days=value)
        return DateRange(day, day)
    if unit in ("semaine", "semaines"):
        day = today - dt.timedelta(weeks=value)
        return DateRange(day - dt.timedelta(days=3), day + dt.timedelta(days=3))
    if unit in ("semaine", "semaines") and value > 53 * (MAX_YEARS_BACK + 1):
        return None
    if unit == "mois" and value > 12 * (MAX_YEARS_BACK + 1):
        return None
    if unit in ("an", "ans", "annee", "annees") and value > MAX_YEARS_BACK + 1:
        return None
    if unit == "mois":
        day = _add_months(today, -value)
        return DateRange(day - dt.timedelta(days=15), day + dt.timedelta(days=15))
    if unit in ("an", "ans", "annee", "annees"):
        months = value * 12 + (6 if half else 0)
        day = _add_months(today, -months)
        return DateRange(_add_months(day, -3), _add_months(day, 3))
    return None


# -- choices -----------------------------------------------------------------
def parse_choice(text: str, options: dict[str, tuple[str, ...]], priority: tuple[str, ...] = ()) -> str | None:
    """The option her words name; a number picks the n-th option (numbered buttons).

    Longest synonyms match first and use up their words, so « mon ex mari » is
    an ex, not a husband. Two options named: the first in `priority`, if the
    question has one, else nothing (asked again rather than guessed).
    """
    norm = normalize(text)
    if is_number(norm) and 1 <= int(norm) <= len(options):
        return list(options)[int(norm) - 1]
    padded = f" {norm} "
    found: list[str] = []
    for synonym, option in sorted(
        ((s, o) for o, syns in options.items() for s in syns), key=lambda pair: -len(pair[0])
    ):
        needle = f" {synonym} "
        if needle in padded:
            padded = padded.replace(needle, " | ")
            if option not in found:
                found.append(option)
    if len(found) == 1:
        return found[0]
    return next((option for option in priority if option in found), None) if found else None


def parse_choices(text: str, options: dict[str, tuple[str, ...]]) -> list[str] | None:
    """Several options at once (« le matin ou le soir »), in the options' order."""
    single = parse_choice(text, options)
    if single is not None:
        return [single]
    padded = f" {normalize(text)} "
    found = []
    for synonym, option in sorted(
        ((s, o) for o, syns in options.items() for s in syns), key=lambda pair: -len(pair[0])
    ):
        if f" {synonym} " in padded:
            padded = padded.replace(f" {synonym} ", " | ")
            found.append(option)
    return [o for o in options if o in found] or None


_FREE_TEXT = re.compile(r"^[\w' .-]{1,40}$")
_NO = re.compile(r"^(non|nan|aucun|aucune|pas besoin|non merci|rien|pas de code|sans)$")


def parse_short_text(text: str) -> str | None:
    """A code word or a first name: short, letters first; « non » means none ("")."""
    cleaned = " ".join(text.split())
    if _NO.match(normalize(cleaned)):
        return ""
    if not _FREE_TEXT.match(cleaned) or not re.search(r"[^\W\d_]", cleaned) or "@" in cleaned:
        return None
    return cleaned
