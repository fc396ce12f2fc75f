"""Deterministic danger detector.

It runs on every message, beside the NLU model, and can only *add* safety:
when it fires, the conversation gets the emergency answer whatever the model
thought. It favours recall, but figurative idioms (« il me tue de rire »)
are removed first so that everyday French does not raise false alarms.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot.text import normalize

# Kinds in priority order: when several fire, the first one wins. A child comes
# first because its answer gives both the 17 / 114 and the 119.
DANGER = "danger"            # violence happening or imminent -> 17 / 112 / SMS 114
CHILD = "enfant"             # a child hurt or threatened -> 17, 119
SUICIDE = "suicide"          # suicidal thoughts -> 3114
AGGRESSOR_PRESENT = "agresseur_present"  # he is there, she cannot speak -> SMS 114
KINDS = (CHILD, DANGER, SUICIDE, AGGRESSOR_PRESENT)

INTENT_FOR_KIND = {
    DANGER: "urgence_danger",
    CHILD: "urgence_enfant",
    SUICIDE: "urgence_suicide",
    AGGRESSOR_PRESENT: "urgence_agresseur_present",
}


@dataclass(frozen=True)
class DangerSignal:
    kind: str
    rule: str  # name of the pattern that fired: safe to log, never the text

    @property
    def intent(self) -> str:
        return INTENT_FOR_KIND[self.kind]


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# Figurative uses removed before matching (the text is already normalised).
_IDIOMS = [_rx(p) for p in (
    r"\bme tue\w* (?:de rire|a la tache|au travail|au boulot|avec ses \w+)",
    r"\bme tue\w* a (?:le |te |vous |lui )?(?:dire|repeter|expliquer)",
    r"\bme tuer (?:a la tache|au travail|au boulot)",
    r"\b(?:mort|morte|morts|mortes|mourir|meurs|meurt|mourrais|mourais|mourant) de "
    r"(?:rire|faim|soif|fatigue|froid|chaud|ennui|envie|sommeil)",
    r"\ba mourir\b",
    r"\btue\w* (?:le|la|les) (?:match|game|partie|temps|ambiance|suspense|mouche|moustique)",
    r"\btap\w* sur (?:les|le) (?:nerfs|systeme)",
    r"\ba l aide de\b",
    r"\b(?:chef|patron|patronne|prof|boss|mere|maman|pere|papa|daronne|daron|mamie|coach)"
    r" (?:va|vont|veut|vas) me (?:tuer|tue)\b",
    r"\ben finir avec (?:lui|elle|cette|ce|cet|ma|mon|notre|la relation|nous)\b",
)]

_SUBJECT = r"(?:il|elle|ils|on|lui|mon \w+|ma \w+|mon ex)"
_HARM_STEMS = (r"(?:frapp|tap|bat\b|batt|cogn|etrangl|trangl|tabass|gifl|viol|poignard|brul|"
               r"sequestr|enferm|menac|tue\b|tues\b|tuer|egorg|defonc|etouff|agress|mord)")
_KILL = (r"(?:tuer|buter|crever|egorger|massacrer|frapper|defoncer|etrangler|bruler|"
         r"descendre|faire la peau|tabasser|violer|poignarder|planter|cogner|etouffer|"
         r"finir|achever|taper dessus|casser la gueule|faire du mal|faire mal)")
_RECENT = r"(?:ce soir|ce matin|cette nuit|aujourd hui|tout a l heure|a l instant|maintenant|encore)"
_WEAPON = (r"(?:couteau|couteaux|arme|armes|fusil|pistolet|flingue|revolver|hache|marteau|"
           r"batte|machette|cutter|lame|ciseaux|tournevis)")
_CHILD = (r"(?:enfant|enfants|fils|garcon|garcons|fille|filles|bebe|bebes|petit|petite|petits|petites|gamin|"
          r"gamine|gamins|gosse|gosses|mome|momes|ado|ados|nourrisson|ma fille|mon fils|"
          r"les petits)")
_CHILD_HARM = (r"(?:frapp\w*|tap\w*|bat|battu\w*|cogn\w*|touch\w*|secou\w*|menac\w*|viol\w*|"
               r"etrangl\w*|brul\w*|enferm\w*|tabass\w*|maltrait\w*|gifl\w*|attouch\w*|"
               r"bless\w*|jett\w*|pouss\w*|tir\w* les cheveux|fait du mal|fais du mal|"
               r"fait mal|s en prend|tape dessus|claque\w*|mis une claque|mis une gifle)")

_RULES: list[tuple[str, str, re.Pattern[str]]] = [
    # --- violence happening or imminent ---
    (DANGER, "agression_en_cours", _rx(
        rf"\b{_SUBJECT} (?:est en train de |vient de |recommence a )?(?:me |m ){_HARM_STEMS}\w*\b(?! (?:pas|plus|jamais)\b)")),
    (DANGER, "agression_recente", _rx(
        rf"\b(?:me|m) a (?:encore |deja |encore une fois )?{_HARM_STEMS}\w* .{{0,60}}\b{_RECENT}\b|\bvient de (?:me |m ){_HARM_STEMS}\w*\b(?! (?:pas|plus|jamais)\b)")),
    (DANGER, "menace_de_mort", _rx(
        rf"\b(?:va|vont|veut|voulait|veulent|menace de|menacee de|menace d|jure de|jure qu il va|"
        rf"allait|compte|risque de|essaie de|essaye de|a essaye de|a tente de) (?:me |m )?{_KILL}\b")),
    (DANGER, "menace_de_mort", _rx(r"\b(?:qu il|qu elle|qu ils) (?:me|m) (?:tue|tuent|fasse du mal|frappe|egorge)\b")),
    (DANGER, "peur_pour_sa_vie", _rx(
        r"\bpeur (?:pour ma vie|de mourir|de me faire tuer|qu il me (?:tue|frappe|tape|egorge|fasse du mal|batte|etrangle)\b|de lui ce soir)|"
        r"\bje vais mourir\b|\bma vie est en danger\b|\bje suis en danger\b|\ben danger de mort\b")),
    (DANGER, "arme", _rx(
        rf"\b(?:il|elle|ils|mon \w+) (?:a|avait|tient|brandit|pointe|sort|a sorti|a pris|prend|"
        rf"menace avec|me menace avec|vient de sortir|cherche) (?:un|une|son|sa|le|la|ses|des) (?:\w+ )?{_WEAPON}\b|"
        rf"\b(?:il|elle) est arme\b|\b{_WEAPON} sous la gorge\b")),
    (DANGER, "appel_au_secours", _rx(
        r"\ba l aide(?: vite| svp| stp| il| elle| je| j| aidez| au secours)?$|"
        r"\ba l aide (?:vite|svp|stp|il|elle|je|j|aidez|au secours)\b|"
        r"\b(?:au secours|sauvez moi|venez vite|appelez la police|appelez les flics|"
        r"appelez le 17|aidez moi vite|aide moi vite|vite aidez moi|vite aide moi|sos)\b")),
    (DANGER, "enfermee", _rx(
        r"\b(?:je suis|il m a|elle m a|m a|on m a|me suis fait) (?:enferm|sequestr|attach)\w*|"
        r"\b(?:defonce|enfonce|casse|tape dans|frappe a|cogne a|tambourine a|force) la porte\b|"
        r"\b(?:il|elle) (?:casse|detruit|defonce|explose|brise) tout\b|\bje saigne\b|\bj (?:arrive|n arrive) (?:plus|pas) a respirer\b|\bil m etrangle\b")),
    # --- a child hurt or threatened ---
    (CHILD, "enfant_en_danger", _rx(
        rf"\b{_CHILD_HARM} (?:aux |(?:a |sur )?(?:mon|ma|mes|les|le|la|nos|notre|l|ses|son|sa) )"
        rf"(?:\w+ )?{_CHILD}\b")),
    (CHILD, "enfant_en_danger", _rx(
        rf"\b(?:il|elle) (?:a )?{_CHILD_HARM}(?: \w+){{0,5}} (?:a |sur )?(?:mon|ma|mes|nos|notre) {_CHILD}\b")),
    (CHILD, "enfant_en_danger", _rx(
        rf"\b{_CHILD}\b.*\b(?:il|elle|ils) (?:les |la |le |l |leur |lui )(?:a )?{_CHILD_HARM}")),
    (CHILD, "enfant_en_danger", _rx(
        rf"\b{_CHILD} (?:est|sont|a ete|ont ete|se fait|se font|s est fait|s est fais) "
        rf"(?:en danger|{_CHILD_HARM})")),
    (CHILD, "enfant_en_danger", _rx(
        rf"\bmenac\w* de (?:tuer|frapper|tabasser|enlever|faire du mal a) (?:les|mes|nos|mon|ma|le|la) {_CHILD}\b")),
    (CHILD, "enfant_en_danger", _rx(
        rf"\b(?:il|elle) (?:a )?secou\w* (?:le|la|mon|ma|notre) (?:\w+ )?(?:bebe|nourrisson|petit|petite)\b")),
    # --- suicidal thoughts ---
    (SUICIDE, "idees_suicidaires", _rx(
        r"\bsuicid\w*|\b(?:envie|veux|voudrais|vais|prefere|prefererais|mieux|pense a|pense|"
        r"penser a|idee de|idees de|prete a|pret a|tente de|essaye de|essayer de|besoin de|"
        r"j ai envie d|envie d) (?:de )?(?:mourir|me tuer|me foutre en l air|me jeter|me pendre|"
        r"me noyer|me faire du mal|me couper les veines|me taillader|me supprimer|"
        r"disparaitre pour toujours|disparaitre pour de bon|plus me reveiller|plus exister)\b")),
    (SUICIDE, "idees_suicidaires", _rx(
        r"\ben finir\b|\bmettre fin a (?:mes jours|ma vie)\b|\b(?:plus|pas) envie de vivre\b|"
        r"\bveux plus vivre\b|\bmarre de vivre\b|\bplus la force de vivre\b|\bme scarifi\w*|"
        r"\bme mutil\w*|\bavaler (?:tous |toutes )?(?:mes|les|des|tout mes|toute ma boite de) "
        r"(?:medicaments|medocs|cachets|pilules)|\bfoutre en l air\b|\ben ai marre de la vie\b|"
        r"\bla vie n a plus de sens\b|\b(?:plus|pas) envie de me reveiller\b|"
        r"\bne (?:jamais|plus) (?:me reveiller|rouvrir les yeux)\b|\bm endormir pour toujours\b|\bplus (?:aucune )?raison de vivre\b|"
        r"\b(?:sauter|me jeter|me lancer) (?:du|d un|de la|par la|sous (?:le|un)) ?(?:pont|fenetre|balcon|toit|immeuble|train|metro|voiture)\b|"
        r"\b(?:sur|au bord du) (?:le )?(?:pont|toit|rebord|balcon|parapet)\b.*\b(?:regarde en bas|sauter|le vide|en finir)\b|"
        r"\bau bord du vide\b|"
        r"\bme (?:suis |les |la )?(?:coupee?s?|taillade\w*|bruler|brulee?) (?:les |le |la |aux |au )?(?:bras|poignets?|veines|cuisses|jambes)\b|"
        r"\bme couper (?:les |le |la )?(?:bras|poignets?|veines)\b|\bje me (?:fais|suis fait|suis faite) du mal\b")),
    # --- he is there, she cannot speak ---
    (AGGRESSOR_PRESENT, "agresseur_present", _rx(
        rf"\b{_SUBJECT} est (?:juste |tout |deja |encore )?(?:la|ici|a cote|juste a cote|dans la piece|dans la chambre|"
        rf"dans le salon|dans l appartement|dans l appart|derriere moi|derriere la porte|revenu|de retour|a la maison|dans la maison|"
        rf"rentre|en bas|dans l entree|dans la voiture avec moi|avec moi dans la voiture|avec moi la)"
        rf"(?! (?:pour|de|du|des|raison|seul|seule|parti)\b)|"
        rf"\bje suis (?:juste |tout )?(?:a cote de lui|pres de lui|avec lui (?:la|maintenant|dans la piece))\b|"
        rf"\b{_SUBJECT} dort (?:juste )?(?:a cote|pres de moi|dans la piece|dans la chambre)\b")),
    (AGGRESSOR_PRESENT, "ne_peut_pas_parler", _rx(
        r"\bje (?:ne )?(?:peux|peut|pourrai|pourrais|sais) (?:pas|plus) (?:parler|appeler|telephoner|"
        r"crier|ecrire longtemps|te parler|vous parler|vous appeler)\b(?! (?:de|d|a|avec|du|des|au|aux|"
        r"francais|fort)\b)")),
    (AGGRESSOR_PRESENT, "surveillee_maintenant", _rx(
        r"\bpar dessus mon epaule\b|\b(?:pas moyen|impossible) de (?:parler|appeler|telephoner|passer (?:un )?appel)\b"
        r"(?! (?:de|d|a|avec|du|des|au|aux|francais)\b)|"
        r"\b(?:joindre|contacter|appeler|prevenir) (?:quelqu un|qqn|la police|les secours) sans (?:parler|faire de bruit)\b|"
        r"\bje (?:ne )?peux (?:qu |que )?ecrire (?:qu |que )?en silence\b|"
        r"\bmeme piece que (?:lui|elle)\b|\b(?:il|elle) (?:m )?entendrait\b|\bil (?:entend|ecoute) tout\b|\bje chuchote\b|"
        r"\bje parle (?:tout )?bas\b|\bje (?:me suis |suis )?cachee? (?:dans|aux|sous|derriere)\b|"
        r"\bje me cache\b|\b(?:il|elle) (?:arrive|revient|rentre)\b.*\b(?:vite|dois|faut|cacher|effacer)\b")),
]


def detect(text: str) -> DangerSignal | None:
    """Return the most urgent signal in `text`, or None."""
    signals = detect_all(text)
    return signals[0] if signals else None


def detect_all(text: str) -> list[DangerSignal]:
    """All signals in `text`, most urgent kind first, one per kind."""
    normalized = normalize(text)
    for idiom in _IDIOMS:
        normalized = idiom.sub(" ", normalized)
    found: dict[str, DangerSignal] = {}
    for kind, name, pattern in _RULES:
        if kind not in found and pattern.search(normalized):
            found[kind] = DangerSignal(kind, name)
    return [found[k] for k in KINDS if k in found]
