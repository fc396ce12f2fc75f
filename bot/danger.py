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
DANGER = "danger"  # violence happening or imminent -> 17 / 112 / SMS 114
CHILD = "enfant"  # a child hurt or threatened -> 17, 119
SUICIDE = "suicide"  # suicidal thoughts -> 3114
AGGRESSOR_PRESENT = "agresseur_present"  # he is there, she cannot speak -> SMS 114
KINDS = (CHILD, DANGER, SUICIDE, AGGRESSOR_PRESENT)

INTENT_FOR_KIND = {
    DANGER: "urgence_danger",
    CHILD: "urgence_enfant",
    SUICIDE: "urgence_suicide",
    AGGRESSOR_PRESENT: "urgence_agresseur_present",
}
KIND_FOR_INTENT = {intent: kind for kind, intent in INTENT_FOR_KIND.items()}


@dataclass(frozen=True)
class DangerSignal:
    kind: str
    rule: str  # name of the pattern that fired: safe to log, never the text
    # False: a risk word, but told in the past or too vague to be sure it is now. It never forces
    # the emergency answer; it makes an unsure reply start with the line of numbers.
    sure: bool = True

    @property
    def intent(self) -> str:
        return INTENT_FOR_KIND[self.kind]


# Channels cap a message at 2 000 characters; the detector never reads more than this.
MAX_SCAN_CHARS = 4000


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# Figurative uses removed before matching (the text is already normalised).
_IDIOMS = [
    _rx(p)
    for p in (
        r"\bme tue\w* (?:de rire|a la tache|au travail|au boulot|avec ses \w+)",
        r"\bme tue\w* a (?:le |te |vous |lui )?(?:dire|repeter|expliquer)",
        r"\bme tuer (?:a la tache|au travail|au boulot)",
        r"\b(?:mort|morte|morts|mortes|mourir|meurs|meurt|mourrais|mourais|mourant) de "
        r"(?:rire|faim|soif|fatigue|froid|chaud|ennui|envie|sommeil|honte)",
        r"\ba mourir\b",
        r"\btue\w* (?:le|la|les) (?:match|game|partie|temps|ambiance|suspense|mouche|moustique)",
        r"\btap\w* sur (?:les|le) (?:nerfs|systeme)",
        r"\ba l aide de\b",
        r"\b(?:chef|cheffe|patron|patronne|prof|boss|mere|maman|pere|papa|daronne|daron|mamie|coach)"
        r" (?:va|vont|veut|vas) me (?:tuer|tue)\b",
        r"\ben finir avec (?!la vie\b|moi\b|mes jours\b|tout\b|tout ca\b)",
        r"(?<!\bde )(?<!\bdes )(?<!\bdu )\b(?:ce|cette|ces|mes|mon|ma|les|la|le|l) (?:job|boulot|travail|taf|partiels?|examens?|exams?|paperasse|dossier|"
        r"formulaire|administration|caf|chaleur|fatigue|stress|cours|reunion|trajet|"
        r"crise|galere|situation|loyer|precarite|solitude|logement|dette|dettes|procedure|attente|demarches?)"
        r" (?:\w+ ){0,3}(?:va|vont|veut|vas|finira par|finiront par) (?:me|m) (?:tuer|tue|achever|faire crever|faire mourir)\b",
        r"\b(?:au secours|sos|a l aide)\b(?= (?:\w+ ){0,6}(?:formulaire|cerfa|dossier|paperasse|papiers|demarches?|comprends rien|"
        r"incomprehensible)\b)",
        r"\benfermee? dans (?:un|une|ce|cette|mon|ma|la|le) (?:mariage|relation|couple|situation|vie|routine|silence|schema)\b",
        r"\benfermee? dans (?:les|des|mes|ces) (?:dettes|problemes|soucis|galeres|mensonges|habitudes|papiers)\b",
        r"\b(?:j ai|il a|elle a|on a|avoir) le couteau sous la gorge\b|\bla corde au cou\b",
        r"\b(?:menace\w* de se|chantage au|menace\w* au|il va se|elle va se) suicid\w*|\bse suicider si\b",
        r"\bme tue\w* a (?:force|toujours|chaque fois)\b",
        # What she dreams or relives is not now (« des cauchemars où il m'étrangle »).
        r"\b(?:cauchemars?|mauvais reves?|flash ?backs?|reviviscences?)\b(?: \w+){0,8}",
        r"\b(?:ce|cette|ces|mes|mon|ma|les|la|le|l) (?:migraine|mal de (?:tete|dos|ventre|dents)|dos|tete|regles|dents|grippe|rhume|"
        r"boulot|travail|taf|dossier|administration|paperasse|caf|chaleur|fatigue|stress|loyer|attente|demarches?) (?:me|m) (?:tue|tuent|achevent?)\b",
        # « elle me tue, cette administration »: the subject is a thing, named after the verb.
        r"\b(?:il|elle|ils|elles|ca) (?:me|m) (?:tue|tuent|achevent?|saoule\w*|epuise\w*) (?:ce|cette|ces|le|la|les|l|mon|ma|mes) "
        r"(?:job|boulot|travail|taf|partiels?|examens?|exams?|paperasse|dossiers?|formulaires?|administrations?|caf|chaleur|fatigue|"
        r"stress|cours|reunions?|trajets?|galere|situation|loyer|logement|dettes?|procedures?|attente|demarches?|papiers|banque|prefecture|"
        r"mairie|impots|voisine? du dessus|telephone|appli|application|site)\b",
        r"\bm etouffe\w* (?:avec|par) (?:sa|son|ses)\b",
        r"\bme tue\w* avec (?:sa|son|ses|leur|leurs)\b",
        r"\bje vais mourir si (?:je dois|il faut|on me|ca continue comme ca avec (?:la|les|ce|ces) (?:caf|papiers|dossier))\b",
        r"\benfermee? (?:dans ma chambre |chez moi )?(?:a|pour) reviser\b",
        r"\bme jeter (?:a l eau|sur (?:le|mon) (?:canape|lit)|dans (?:le travail|mes etudes|la gueule du loup))\b",
    )
]

_SUBJECT = r"(?:il|elle|ils|on|lui|mon \w+|ma \w+|mon ex)"
_PARTNER = (
    r"(?:(?:mon|ma|son|sa|le|la) (?:mari|mec|copain|compagnon|conjoint|concubin|ex|homme|femme|copine|"
    r"compagne|conjointe|epoux|epouse|beau pere|pere des enfants|pere de mes enfants|chum|jules)|mon ex)"
)
_AGGRESSOR = rf"(?:il|elle|ils|lui|{_PARTNER})"
_HARM_STEMS = (
    r"(?:frapp|tap|bat\b|batt|cogn|etrangl|trangl|tabass|gifl|viol|poignard|brul|"
    r"sequestr|enferm|menac|tue\b|tues\b|tuer|egorg|defonc|etouff|agress|mord)"
)
# Verbs that mean killing or beating whoever the object is (« il va la tuer »)…
_KILL = r"(?:tuer|buter|egorger|massacrer|etrangler|faire la peau|tabasser|violer|poignarder)"
# …and verbs that do only with « me »: « il va descendre », « je compte finir ma formation ».
_KILL_ME = (
    r"(?:crever|frapper|defoncer|bruler|descendre|planter|cogner|etouffer|finir|achever|"
    r"taper dessus|casser la gueule|faire du mal|faire mal)"
)
_THREAT_VERB = (
    r"(?:va|vont|veut|voulait|veulent|menace de|menacee de|menace d|jure de|jure qu il va|"
    r"allait|compte|risque de|essaie de|essaye de|a essaye de|a tente de)"
)
_RECENT = r"(?:ce soir|ce matin|cette nuit|aujourd hui|tout a l heure|a l instant|encore)"
_WEAPON = (
    r"(?:couteau|couteaux|arme|armes|fusil|pistolet|flingue|revolver|hache|marteau|"
    r"batte|machette|cutter|lame|ciseaux|tournevis)"
)
_CHILD = (
    r"(?:enfant|enfants|fils|garcon|garcons|fille|filles|bebe|bebes|petit|petite|petits|petites|gamin|"
    r"gamine|gamins|gosse|gosses|mome|momes|ado|ados|nourrisson|ma fille|mon fils|"
    r"les petits)"
)
_CHILD_HARM = (
    r"(?:frapp\w*|tap\w*|bat|battu\w*|cogn\w*|touch\w*|secou\w*|menac\w*|viol(?:e|ee|es|er|ait|aient)?\b|"
    r"etrangl\w*|brul\w*|enferm\w*|tabass\w*|maltrait\w*|gifl\w*|attouch\w*|"
    r"bless\w*|jett\w*|pouss\w*|tir\w* les cheveux|fait du mal|fais du mal|"
    r"fait mal|s en prend|tape dessus|claque\w*|mis une claque|mis une gifle)"
)

_RULES: list[tuple[str, str, re.Pattern[str]]] = [
    # --- violence happening or imminent ---
    (
        DANGER,
        "agression_en_cours",
        _rx(
            rf"\b{_SUBJECT} (?:est en train de |vient de |recommence a )?(?:me |m ){_HARM_STEMS}\w*\b(?! (?:pas|plus|jamais)\b)"
            rf"(?<!menace)(?<!menacait)|\b{_SUBJECT} (?:me |m )menac\w* (?:de mort|avec|de (?:me |m )?(?:tuer|frapper|taper|"
            rf"egorger|bruler|defoncer|casser|faire du mal|planter|cogner))"
        ),
    ),
    (
        DANGER,
        "agression_recente",
        _rx(
            rf"\b(?:me|m) a (?:encore |deja |encore une fois )?{_HARM_STEMS}\w* .{{0,60}}\b{_RECENT}\b|\bvient de (?:me |m ){_HARM_STEMS}\w*\b(?! (?:pas|plus|jamais)\b)"
        ),
    ),
    (
        DANGER,
        "menace_de_mort",
        _rx(
            rf"\b{_THREAT_VERB} (?:me |m |nous |la |l |les |te |t )?{_KILL}\b(?! (?:le temps|l ennui|le match)\b)|"
            rf"\b{_THREAT_VERB} (?:me |m |nous ){_KILL_ME}\b"
        ),
    ),
    (DANGER, "menace_de_mort", _rx(r"\b(?:qu il|qu elle|qu ils) (?:me|m) (?:tue|tuent|fasse du mal|frappe|egorge)\b")),
    (
        DANGER,
        "peur_pour_sa_vie",
        _rx(
            r"\bpeur (?:pour ma vie|de mourir|de me faire tuer|qu il me (?:tue|frappe|tape|egorge|fasse du mal|batte|etrangle)\b|de lui ce soir)|"
            r"\bje vais mourir\b|\bma vie est en danger\b|\bje suis en danger\b|\ben danger de mort\b"
        ),
    ),
    (
        DANGER,
        "arme",
        _rx(
            rf"\b(?:il|elle|ils|mon \w+) (?:a|avait|tient|brandit|pointe|sort|a sorti|a pris|prend|"
            rf"menace avec|me menace avec|vient de sortir|cherche) (?:un|une|son|sa|le|la|ses|des) (?:\w+ )?{_WEAPON}\b|"
            rf"\b(?:il|elle) est arme\b|\b{_WEAPON} sous (?:la|ma) gorge\b|"
            rf"\b(?:me|m) (?:met|a mis|tient|pose|colle|a pose|a colle)\w* (?:un|son|le|une|sa) {_WEAPON}\b"
        ),
    ),
    (
        DANGER,
        "appel_au_secours",
        _rx(
            r"^(?:\w+ ){0,3}a l aide(?: vite| svp| stp| il| elle| je| j| aidez| au secours)?$|"
            r"\ba l aide (?:vite|svp|stp|il|elle|je|j|aidez|au secours)\b|"
            r"\b(?:au secours|sauvez moi|venez vite|appelez la police|appelez les flics|"
            r"appelez le 17|aidez moi vite|aide moi vite|vite aidez moi|vite aide moi|sos)\b"
        ),
    ),
    (
        DANGER,
        "enfermee",
        _rx(
            r"\b(?:je suis|il m a|elle m a|m a|on m a|me suis fait) (?:enferm|sequestr|attach)\w*|"
            r"\b(?:defonce|enfonce|casse|force) la porte\b|\b(?:il|elle|ils|on) (?:tape dans|frappe a|cogne a|tambourine a) la porte\b|"
            r"\b(?:il|elle) (?:casse|detruit|defonce|explose|brise) tout\b|\bje saigne\b|\bj (?:arrive|n arrive) (?:plus|pas) a respirer\b|\bil m etrangle\b"
        ),
    ),
    # --- a child hurt or threatened ---
    (
        CHILD,
        "enfant_en_danger",
        _rx(
            rf"\b{_CHILD_HARM} (?:aux |(?:a |sur )?(?:mon|ma|mes|les|le|la|nos|notre|l|ses|son|sa) )"
            rf"(?:\w+ )?{_CHILD}\b"
        ),
    ),
    (
        CHILD,
        "enfant_en_danger",
        _rx(rf"\b(?:il|elle) (?:a )?{_CHILD_HARM}(?: \w+){{0,5}} (?:a |sur )?(?:mon|ma|mes|nos|notre) {_CHILD}\b"),
    ),
    (
        CHILD,
        "enfant_en_danger",
        _rx(rf"\b{_CHILD}\b.{{0,150}}\b(?:il|elle|ils) (?:les |la |le |l |leur |lui )(?:a )?{_CHILD_HARM}"),
    ),
    (
        CHILD,
        "enfant_en_danger",
        _rx(
            rf"\b{_CHILD} (?:est|sont|a ete|ont ete|se fait|se font|s est fait|s est fais) "
            rf"(?:en danger|{_CHILD_HARM})"
        ),
    ),
    (
        CHILD,
        "enfant_en_danger",
        _rx(rf"\bmenac\w* de (?:tuer|frapper|tabasser|enlever|faire du mal a) (?:les|mes|nos|mon|ma|le|la) {_CHILD}\b"),
    ),
    (
        CHILD,
        "enfant_en_danger",
        _rx(r"\b(?:il|elle) (?:a )?secou\w* (?:le|la|mon|ma|notre) (?:\w+ )?(?:bebe|nourrisson|petit|petite)\b"),
    ),
    # --- suicidal thoughts ---
    (
        SUICIDE,
        "idees_suicidaires",
        _rx(
            r"\bsuicid\w*|(?<!il a )(?<!elle a )(?<!ils ont )(?<!on a )(?<!pas )\b(?:envie|veux|voudrais|vais|prefere|prefererais|mieux|pense a|pense|"
            r"penser a|idee de|idees de|prete a|pret a|tente de|essaye de|essayer de|besoin de|"
            r"j ai envie d|envie d) (?:\w+ment (?:a )?)?(?:de )?(?:mourir|me tuer|me foutre en l air|me jeter (?:par|du|d un|de la|sous|dans le vide|dans la|devant)|me pendre|"
            r"me noyer|me faire du mal|me couper les veines|me taillader|me supprimer|"
            r"disparaitre pour toujours|disparaitre pour de bon|plus me reveiller|plus exister)\b"
        ),
    ),
    (
        SUICIDE,
        "idees_suicidaires",
        _rx(
            r"\ben finir\b|\bmettre fin a (?:mes jours|ma vie)\b|\b(?:plus|pas) envie de vivre\b|"
            r"\bveux plus vivre\b(?! (?:sous|avec|comme|ainsi|ca|dans|chez)\b)|\bmarre de vivre\b|\bplus la force de vivre\b|\bme scarifi\w*|"
            r"\bme mutil\w*|\bavaler (?:tous |toutes )?(?:mes|les|des|tout mes|toute ma boite de) "
            r"(?:medicaments|medocs|cachets|pilules)|\bfoutre en l air\b|\ben ai marre de la vie\b|"
            r"\bla vie n a plus de sens\b|\b(?:plus|pas) envie de me reveiller\b|"
            r"\bne (?:jamais|plus) (?:me reveiller|rouvrir les yeux)\b|\bm endormir pour toujours\b|\bplus (?:aucune )?raison de vivre\b|"
            r"(?<!il veut )(?<!elle veut )(?<!il voulait )(?<!elle voulait )(?<!il va )(?<!elle va )(?<!essaye de )(?<!tente de )"
            r"(?<!menace de )(?<!menacait de )(?<!menace d )"
            r"\b(?:sauter|me jeter|me lancer) (?:du|d un|de la|par la|sous (?:le|un)) ?(?:pont|fenetre|balcon|toit|immeuble|train|metro|voiture)\b|"
            r"\b(?:sur|au bord du) (?:le )?(?:pont|toit|rebord|balcon|parapet)\b.{0,150}\b(?:regarde en bas|sauter|le vide|en finir)\b|"
            r"\bau bord du vide\b|"
            r"\bme (?:suis |les |la )?(?:coupee?s?|taillade\w*|bruler|brulee?) (?:les |le |la |aux |au )?(?:bras|poignets?|veines|cuisses|jambes)\b|"
            r"\bme couper (?:les |le |la )?(?:bras|poignets?|veines)\b|\bje me (?:fais|suis fait|suis faite) du mal\b"
        ),
    ),
    # --- he is there, she cannot speak ---
    (
        AGGRESSOR_PRESENT,
        "agresseur_present",
        _rx(
            rf"\b{_AGGRESSOR} est (?:juste |tout |deja |encore )?(?:la|ici|a cote|juste a cote|dans la piece|dans la chambre|"
            rf"dans le salon|dans l appartement|dans l appart|derriere moi|derriere la porte|devant la porte|"
            rf"dans l entree|dans la voiture avec moi|avec moi dans la voiture|avec moi la)"
            rf"(?! (?:pour|de|du|des|raison|seul|seule|parti|depuis \w+ (?:ans|mois|annees)|(?:mon|ma|le|la|les|votre) "
            rf"(?:dossier|papiers?|documents?|formulaire|certificat|courrier|rdv|rendez vous|referent|nouveau|pack|attestation))\b)|"
            rf"\bje suis (?:juste |tout )?(?:a cote de lui|pres de lui|avec lui (?:la|maintenant|dans la piece))\b|"
            rf"\b{_AGGRESSOR} dort (?:juste )?(?:a cote|pres de moi|dans la piece|dans la chambre)\b"
        ),
    ),
    (
        AGGRESSOR_PRESENT,
        "ne_peut_pas_parler",
        _rx(
            r"\bje (?:ne )?(?:peux|peut|pourrai|pourrais) (?:pas|plus) (?:parler|appeler|telephoner|"
            r"crier|ecrire longtemps|te parler|vous parler|vous appeler)\b(?! (?:de|d|a|avec|du|des|au|aux|"
            r"francais|fort|anglais|arabe|bien|correctement|la langue|en public|sans pleurer|longtemps)\b)"
            r"(?!(?: \w+){0,4} (?:travail|boulot|bureau|cours|forfait|reseau|extinction de voix)\b)"
        ),
    ),
    (
        AGGRESSOR_PRESENT,
        "surveillee_maintenant",
        _rx(
            r"\bpar dessus mon epaule\b|\b(?:pas moyen|impossible) de (?:parler|appeler|telephoner|passer (?:un )?appel)\b"
            r"(?! (?:de|d|a|avec|du|des|au|aux|francais)\b)|"
            r"\b(?:joindre|contacter|appeler|prevenir) (?:quelqu un|qqn|la police|les secours) sans (?:parler|faire de bruit)\b|"
            r"\bje (?:ne )?peux (?:qu |que )?ecrire (?:qu |que )?en silence\b|"
            r"\bmeme piece que (?:lui|elle)\b|\b(?:il|elle) (?:m )?entendrait\b|\bil (?:entend|ecoute) tout\b|\bje chuchote\b|"
            r"\bje parle (?:tout )?bas\b|\bje (?:me suis |suis )?cachee? (?:dans|aux|sous|derriere)\b|"
            r"\bje me cache\b(?! (?:plus|pas)\b)|\b(?:il|elle) (?:arrive|revient|rentre)\b(?! (?:dans (?:\d+|deux|trois|quatre|cinq|six|quelques) (?:h|heures)|ce soir|demain|la semaine|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|a \d+ ?h)\b).{0,150}\b(?:vite|cacher|effacer)\b"
        ),
    ),
    (
        AGGRESSOR_PRESENT,
        "ecrit_seulement",
        _rx(
            r"\b(?:je suis|chui|etant) (?:sourde?|malentendante?|muette?)\b|"
            r"\b(?:joindre|contacter|appeler|prevenir|alerter) (?:la police|les secours|les gendarmes|le 17|quelqu un|qqn)"
            r" (?:par ecrit|par sms|par message|en ecrivant|sans parler)\b"
        ),
    ),
    # --- stated more plainly than the patterns above ---
    (
        DANGER,
        "devant_chez_elle",
        _rx(
            rf"\b{_AGGRESSOR} (?:est|attend|rode|traine|sonne|tape|frappe|est gare|s est gare|m attend|me guette|guette)"
            rf" (?:juste |encore |la |deja )?(?:devant chez moi|devant ma porte|en bas de chez moi|sous mes fenetres|"
            rf"devant l immeuble|dans mon immeuble|dans la cage d escalier|sur mon palier|devant la maison|en bas)\b"
            rf"(?=.{{0,150}}\b(?:interdi\w*|ordonnance|juge|pas le droit|bracelet|eloignement|peur|depuis \w+ (?:minutes?|heures?)|"
            rf"la maintenant|en ce moment|je fais quoi|aidez|vite)\b)"
        ),
    ),
    (
        DANGER,
        "dehors_dans_le_froid",
        _rx(
            r"\b(?:enfermee?|laissee?|mise?|bloquee?|coincee?|jetee?) dehors (?:sur le balcon|dans le froid|en pleine nuit|"
            r"en pyjama|sans (?:mes )?(?:cles|chaussures|manteau))|\bsur le balcon\b.{0,80}\b(?:ferme|verrouille|bloque)\w*\b"
            r".{0,40}\b(?:porte|fenetre|baie)\b|\b(?:ferme|verrouille)\w* (?:la )?(?:porte|baie vitree) .{0,30}balcon\b"
        ),
    ),
    (
        SUICIDE,
        "passage_a_l_acte",
        _rx(
            r"\bj ai (?:avale|pris|gobe) (?:tous |toutes |toute |une boite|la boite|plein|beaucoup|trop|des dizaines|\d+|une plaquette)"
            r".{0,50}\b(?:medicaments|medocs|cachets|pilules|comprimes|somniferes|doliprane|xanax|lexomil|anxiolytiques)\b|"
            r"\b(?:une|la|ma) corde\b.{0,80}\b(?:garage|grenier|cave|poutre|pendre|cou|arbre)\b|"
            r"\b(?:j ai|je vais|je suis en train d) (?:ecrit|ecrire|prepare|preparer|laisse|laisser|fini|finir) (?:une |des |mes |ma |la )?"
            r"lettres? d adieu\b(?! a (?:ma|mon|cette|notre|nos|ce|son|sa|leur))|\bmes lettres d adieu\b|\bdire adieu a (?:tout le monde|mes enfants)\b|"
            r"\b(?:seraient|serait|seront|sera) (?:mieux|plus heureux\w*) sans moi\b|\bque tout s arrete\b(?! (?:entre|avec)\b)"
        ),
    ),
    (
        # « disparaître » may be leaving him or leaving life: only ever the line with the 3114.
        SUICIDE,
        "disparaitre",
        _rx(
            r"\b(?:veux|voudrais|aimerais|envie de|besoin de|pour|comment|prefere|prefererais|j aimerais) (?:juste |simplement |tout )?"
            r"(?:disparaitre|m effacer|ne plus etre la)\b(?! (?:de (?:sa|son|ses|leur|la|l|chez)|des (?:radars|reseaux)|d ici quelques jours)\b)|"
            r"\bsans (?:faire de (?:la )?peine|faire de mal|faire souffrir|deranger) a personne\b"
        ),
    ),
    (
        # Her own death's logistics (funeral, insurance, pets, accounts) with a date: the line with the 3114.
        SUICIDE,
        "apres_ma_mort",
        _rx(
            r"\b(?:mes obseques|mon enterrement|ma mort|mon deces|mon suicide|mes funerailles|ma cremation)\b|"
            r"\bapres ma mort\b|\bavant que je (?:parte|meure|m en aille|disparaisse)\b(?=.{0,60}\b(?:ce soir|demain|cette nuit|semaine prochaine|bientot)\b)|"
            r"\bdeces (?:est )?volontaire\b|\b(?:pompes funebres|obseques|enterrement|don de (?:son|mon) corps)\b.{0,120}"
            r"\b(?:pour moi|moi meme|soi meme|semaine prochaine|demain|ce soir|bientot|d ici)\b|"
            r"\b(?:quand je (?:serai|ne serai) (?:plus la|partie?|morte?)|je (?:ne )?serai plus la(?! (?:a partir|de \d|entre|pendant|jusqu|cet|ce week|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|\d))|si je (?:meurs|suis plus la|ne suis plus la|"
            r"disparais|passe sous)|une fois (?:que je serai )?partie?)\b|\bpas vivante?\b|\bj ai fixe (?:le|la) (?:jour|date)\b"
        ),
    ),
    (
        # Giving her things away: a farewell that never says dying (« ils croient que je déménage »).
        SUICIDE,
        "se_defait_de_ses_affaires",
        _rx(
            r"\bj ai (?:donne|distribue|offert|legue) (?:toutes |tous |presque toutes |la plupart de )?mes "
            r"(?:affaires|bijoux|biens|objets|livres|souvenirs|economies|photos|plantes)\b(?! a (?:une|l|un) (?:association|asso|emmaus|ressourcerie))|"
            r"\b(?:confie|donne|laisse) mon (?:chat|chien|animal|lapin) a\b.{0,80}\b(?:apres|pour toujours|definitivement|quand je serai plus|prendre soin)\b"
        ),
    ),
    (
        # Walking into the water until it stops; leaving the children to someone « for after ».
        SUICIDE,
        "eau_adieu",
        _rx(
            r"\b(?:marcher|entrer|avancer|aller|rentrer) dans (?:le fleuve|la mer|la riviere|le lac|l eau|l ocean|la seine|le canal)\b"
            r".{0,60}\b(?:jusqu a ce que|jusqu au bout|sans revenir|et ne plus|pour ne plus|pour toujours|pour de bon)\b|"
            r"\bjusqu a ce que (?:ca|tout|la douleur|le bruit) s arrete\b"
        ),
    ),
    (
        SUICIDE,
        "confie_les_enfants",
        _rx(
            r"\b(?:occupe toi|occupez vous|prends soin|prenez soin) (?:d eux|d elles|des enfants|de mes enfants|des petits|de mes petits|de ma fille|"
            r"de mon fils)\b(?! (?:ce|cet|demain|samedi|dimanche|pendant|le temps|jusqu|cette|la semaine|quelques|deux|trois)\b)"
        ),
    ),
    (
        # A weapon of her own (a policeman's, a hunter's) kept close and looked at: the line with the 3114.
        SUICIDE,
        "arme_a_soi",
        _rx(
            r"\b(?:mon|ma|l) (?:arme(?: de service)?|revolver|pistolet|fusil(?: de chasse)?|carabine)\b.{0,120}"
            r"\bje (?:la|le) (?:regarde|sors|prends|tiens|caresse|charge|fixe)\b|"
            r"\bje garde (?:l|mon|ma) (?:arme(?: de service)?|revolver|pistolet|fusil)\b.{0,30}\b(?:a la maison|chez moi|pres de moi|sur moi)\b|"
            r"\b(?:mon|ma) (?:arme(?: de service)?|revolver|pistolet|fusil(?: de chasse)?) (?:est )?(?:a la maison|chez moi|sous (?:mon|l) oreiller|"
            r"dans (?:mon|ma|le|la) (?:tiroir|table de nuit|chambre))\b"
        ),
    ),
    (
        # Someone not at ease in French writes the worst in her own language.
        SUICIDE,
        "autre_langue",
        _rx(
            r"\b(?:quiero|voy a) (?:morir\w*|matarme|suicidarme)\b|\bme quiero (?:morir|matar)\b|\bno quiero vivir\b|"
            r"\b(?:quero|vou) (?:morrer|me matar|me suicidar)\b|\bvoglio morire\b|\bich will sterben\b|"
            r"\bi (?:want|wanna|am going) to (?:die\b(?! (?:my|your|her|the|it)\b)|kill myself|end (?:it|my life))\b|\bkill myself\b|\bend my life\b|"
            r"\bi (?:bought|got|have) (?:a|the) rope\b|\b(?:nobody|no one) would (?:miss|notice) me\b|\bbetter off without me\b|"
            r"\b(?:no reason|nothing left) to live\b|\bi (?:don t|do not|dont) want to (?:live|be alive|wake up)\b|"
            r"\bi (?:took|swallowed) (?:all|a lot of|loads of|\d+) (?:my |the |of my )?(?:pills|tablets|meds)\b"
        ),
    ),
    (
        # He is searching for her now (« il nous cherche dans la résidence »), not « il me cherche » (provokes).
        DANGER,
        "la_cherche",
        _rx(
            r"\b(?:il|elle) (?:nous|me) (?:cherche|recherche) dans (?:la|le|l|tout le|toute la) (?:residence|quartier|immeuble|"
            r"cite|rue|batiment|hall|village|foret|parking|maison|jardin|gare|centre)\b|"
            r"\b(?:il|elle) (?:nous|me) (?:traque|poursuit) (?:en (?:voiture|scooter|moto)|a pied|dans|avec|jusqu)\b"
        ),
    ),
    (
        # Antillean and Reunion creole: « i ka bat mwen », « li tap amoin ».
        DANGER,
        "creole",
        _rx(
            r"(?<!\bte )\b(?:i|li|misye|nonm la|nonm lan|mari mwen|mon mari|mon homme|il) (?:ka|ap|pe|la|le|k)? ?(?:bat|tap|tape|frape|fese|koupe) "
            r"(?:mwen|moin|amoin|mw|mwin)\b"
        ),
    ),
    (
        DANGER,
        "autre_langue",
        _rx(
            r"\b(?:ayuda|socorro|help)\b.{0,40}\b(?:me (?:pega|mata|golpea|va a matar)|(?:he|she) (?:is )?(?:hitting|beating|"
            r"going to kill) me|(?:hits|beats) me)\b|\b(?:me (?:esta pegando|va a matar)|(?:he|she) is (?:hitting|beating|choking) me)\b"
        ),
    ),
    (
        CHILD,
        "autre_langue",
        _rx(
            r"\b(?:my|mi|mis) (?:daughter|son|kids?|children|sister|brother|hija|hijo|hijos|hermana|hermano|nina|nino)\b.{0,80}"
            r"\b(?:hits?|beats?|shakes?|hurts?|pega|golpea|maltrata|sacude)\b|\b(?:le|la|les) (?:pega|golpea|maltrata)\b|"
            r"\b(?:grabbed|threw|hit|slapped|kicked|choked|shook|punched|burned|beat) (?:the|my|his|her|our|a) "
            r"(?:\d+ ?(?:year|yr|month)s? ?old|child|kid|kids|son|daughter|baby|toddler|boy|girl|little one)\b|"
            r"\b(?:the|my|his|her|our) (?:\d+ ?(?:year|yr)s? ?old|child|kid|son|daughter|baby|toddler|boy|girl)\b.{0,80}"
            r"\b(?:has|had|with|covered in) (?:bruises|burns|marks|a black eye)\b"
        ),
    ),
    (
        SUICIDE,
        "proche_suicidaire",
        _rx(
            rf"\b(?:il|elle|{_PARTNER}|mon (?:frere|fils|pere|ami|copain)|ma (?:soeur|fille|mere|amie|copine))"
            r" (?:m a dit |m a ecrit |dit |ecrit )?(?:qu (?:il|elle) )?(?:va|veut|allait|voulait|pense a|parle de)"
            r" (?:se tuer|se suicider|se pendre|se jeter|mettre fin a ses jours|en finir)\b(?! si\b| avec\b)|"
            r"\bmoteur (?:qui tourne|allume|en marche)\b.{0,80}\bgarage\b|\bgarage\b.{0,80}\bmoteur (?:qui tourne|allume|en marche)\b|"
            r"\bsi je (?:saute|me tue|me jette|me pends|disparais pour de bon)\b|"
            r"\bje (?:saute|me jette|me pends|me tue|le fais|passe a l acte|me lance)"
            r" (?:dans \d+|dans (?:cinq|dix|une|deux) (?:min|minutes|heure)|ce soir|cette nuit|maintenant|tout de suite)\b|"
            r"\b(?:il|elle) (?:a|vient d|dit qu il a|dit qu elle a) (?:pris|avale) (?:des|tous ses|toutes ses|une boite de|ses|plein de)"
            r" (?:medicaments|medocs|cachets|pilules|comprimes)\b|\bs en servir contre (?:lui|elle)(?: meme)?\b"
        ),
    ),
    (
        CHILD,
        "enfant_emporte",
        _rx(
            rf"\b(?:se tuer|se suicider|se jeter|en finir|mourir|sauter|se foutre en l air)(?: (?:par|du|de|la|le|d un|une|un|fenetre|balcon|pont|toit|"
            rf"dans|vide|voiture|train)){{0,4}} avec (?:lui|elle|eux|{_CHILD}|(?:le|la|les|mon|ma|mes|nos|notre) {_CHILD})\b|"
            rf"\b(?:il|elle) (?:a pris|a emmene|est parti avec|est partie avec|a embarque|a kidnappe|a enleve) (?:le|la|les|mon|ma|mes|notre|nos)"
            rf" (?:\w+ )?{_CHILD}\b.{{0,80}}\b(?:saoul|soul|ivre|bourre|alcoolise|drogue|arme|couteau|menace|tuer|a toute vitesse)\b"
        ),
    ),
    (
        # A parent's « on part ensemble pour de bon » with the children: a threat on their lives.
        CHILD,
        "depart_avec_enfants",
        _rx(
            rf"\b(?:on|nous) (?:part|partons|s en va|va partir|allons partir) (?:tous )?(?:ensemble |les (?:trois|quatre|deux) )?pour (?:de bon|toujours)\b"
            rf"(?=.{{0,160}}\b{_CHILD}\b)|\b{_CHILD}\b.{{0,160}}\b(?:on|nous) (?:part|partons|s en va|va partir|allons partir) (?:tous )?ensemble pour (?:de bon|toujours)\b"
        ),
    ),
    (
        # « tu ne reverras jamais les enfants » may be a custody threat or worse: the line with the 119.
        CHILD,
        "jamais_revoir_enfants",
        _rx(
            rf"\btu ne (?:les )?(?:reverras|verras) (?:plus )?jamais (?:les|tes|nos|mes) {_CHILD}\b|\btu (?:ne )?reverras plus (?:les|tes|nos) {_CHILD}\b"
        ),
    ),
    (
        # A girl to be married off or cut, told by a teacher, a nurse, a sister (« une collégienne doit épouser… »).
        CHILD,
        "mariage_force_mineure",
        _rx(
            r"\b(?:collegienne|collegien|lyceenne|eleve|mineure|adolescente|ado|petite|fillette|(?:fille|soeur|niece|cousine) de "
            r"(?:1[0-7]|[5-9]) ans|(?:1[0-7]|[5-9]) ans)\b.{0,120}"
            r"\b(?:(?:doit|doivent|devra|va|vont|veut|veulent|voudrait|voudraient|obligee?|forcee?|promise?)(?: (?:la|le|l|a))? "
            r"(?:epouser|marier|fiancer|exciser)|excision|mariage force|mariage arrange)\b|"
            r"\b(?:epouser|marier|fiancer|exciser|mariage force)\b.{0,60}\b(?:fille|soeur|niece|cousine|eleve|collegienne|petite)\b"
            r"(?: de)? (?:1[0-7]|[5-9]) ans\b"
        ),
    ),
    (
        DANGER,
        "conduite_ivre",
        _rx(r"\b(?:conduit|au volant|prend le volant)\b(?: \w+){0,3} (?:saoul|soul|ivre|bourre|alcoolise|drogue)\b"),
    ),
    (
        CHILD,
        "mineure_maltraitee",
        _rx(
            r"\b(?:ma|mon) (?:beau pere|belle mere|beau daron|belle daronne|mere|pere|daronne|daron|maman|papa|parents)"
            r" (?:me |m )(?:a |ont |a encore )?(?:frapp|tap|bat|cogn|gifl|viol|touch|etrangl|enferm|brul|tabass|menac|fout des|met des)\w*|"
            r"\bmes parents (?:me |m )(?:frapp|tap|bat|cogn|gifl|enferm|brul|tabass)\w*"
        ),
    ),
]
# Someone under 18 (« j'ai 14 ans », « au collège ») who tells of harm: the 119 is for them.
_MINOR = _rx(
    r"\bj ai (?:[5-9]|1[0-7]|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|dix sept) ans\b|"
    r"\b(?:au|en) (?:college|6e|5e|4e|3e|6eme|5eme|4eme|3eme|sixieme|cinquieme|quatrieme|troisieme)\b|"
    r"\bje suis (?:mineure?|une ado|un ado|au college|collegienne?)\b"
)
# Someone else under 18 (« mon fils de 16 ans », « une élève de 3e »): beside suicide, the 119 too.
_MINOR_OTHER = _rx(
    r"\b(?:mon|ma|notre|son|sa|leur|un|une|cet|cette) (?:fils|fille|ado|adolescente?|eleve|collegienne?|collegien|lyceenne?|"
    r"petite fille|petit fils|niece|neveu|enfant|gamine?|patiente?|cousine?) (?:de|d) (?:[5-9]|1[0-7]|cinq|six|sept|huit|neuf|dix|onze|"
    r"douze|treize|quatorze|quinze|seize|dix sept) ans\b|\b(?:une|un|mon|ma|notre) (?:eleve|collegienne?|collegien) de "
    r"(?:cm1|cm2|6e|5e|4e|3e|6eme|5eme|4eme|3eme|sixieme|cinquieme|quatrieme|troisieme|seconde)\b"
)
_MINOR_HARM = _rx(
    rf"(?:\b(?:me|m) (?:a |ont |a encore )?{_HARM_STEMS}\w*|\b(?:peur|coups?|bleus?|frapp\w*|tap\w*|battu\w*|"
    r"viol(?:e|ee|es|er|ait)?|touche\w*|menace\w*|enferm\w*))\b(?! (?:pas|plus|jamais)\b)|"
    # A minor married off or cut: the 119 (« mon père veut me marier au pays cet été »).
    r"\b(?:veut|veulent|va|vont|voudrait|voudraient|doi\w*) me (?:marier|fiancer|faire exciser)\b|"
    r"\bme (?:marier|fiancer) (?:de force|au pays|contre mon gre|sans mon avis|a un|a une|avec un cousin)\b|"
    r"\bmariage (?:force|arrange)\b|\b(?:excision|exciser|excisee)\b"
)
# Told in the past (« il me battait », « l'an dernier »), with nothing that says it is now.
_IMPERFECT = _rx(r"\b\w{2,}(?:ait|aient)\b")
_PAST = _rx(
    r"\b(?:l an (?:dernier|passe)|l annee (?:derniere|passee)|(?:il )?y a (?:\d+|un|une|deux|trois|quatre|cinq|six|sept|huit|"
    r"neuf|dix|onze|douze|quinze|vingt|trente|des|quelques|plusieurs|plus de \w+) (?:ans?|annees?|mois|semaines?)|il y a longtemps|autrefois|a l epoque|\bdann? (?:le )?tan\b|avant (?:que je|mon depart|le divorce|notre divorce|leur divorce|mon divorce|de divorcer|"
    r"la separation|notre separation|leur separation)|quand (?:on|nous|j|je) (?:vivai\w*|etai\w*|habitai\w*)|je suis partie?|je l ai quitte\w*|"
    r"depuis (?:que je suis partie?|la separation|mon depart)|(?:on est|nous sommes|on s est) separ\w*|quand j etais (?:petite?|enfant|"
    r"avec lui|avec elle|mariee?|au college|au lycee)|pendant (?:des|\d+|deux|trois|dix|vingt) ans|la semaine derniere|"
    r"\bavant (?:mon|ma|il|elle|lui|on|nous|j|je)\b.{0,120}\b(?:maintenant|aujourd hui|apres (?:le juge|le divorce|la plainte|\w+))"
    r" (?:je suis|j habite|je vis|c est fini|il est (?:parti|en prison|loin|condamne)|elle est (?:partie|en prison|loin)|on est separ\w*|je suis partie?)|"
    r"le mois dernier|lan dernier|(?:quand j avais|a l age de|une fois a) \d+ ans|l ?(?:ete|hiver|automne) dernier|c est fini|c etait|fini depuis|depuis (?:19|20)\d\d|l (?:ete|hiver|automne) dernier|au printemps dernier|en (?:19|20)\d\d|tentative de suicide)\b"
)
# « si un jour il revient » is a question about later, not an alarm now.
_HYPOTHETICAL = _rx(
    r"\b(?:si|s) (?:un jour|jamais|demain|a l avenir|ca recommence|il recommence|elle recommence|"
    r"(?:il|elle|mon \w+|ma \w+) (?:me |m )?\w+ (?:encore|a nouveau|de nouveau))\b|\bet si (?:un jour|jamais)\b"
)
# A question about the numbers themselves (« le 3114 c'est pour qui ? »).
# « j'ai 17 ans », « à 17 h » are not the 17.
_ASKS_NUMBER = _rx(
    r"\b(?:3114|114|119|3919|17|112)\b(?! ?(?:ans?|h\b|heures?|euros?|eur\b|e\b|eme|mois|km|kilos?|rue|avenue|bd|boulevard|fois|minutes?|min\b))"
)
# Signals that only ever call for the line of numbers.
_RISK_ONLY = {
    "ecrit_seulement",
    "disparaitre",
    "se_defait_de_ses_affaires",
    "apres_ma_mort",
    "arme_a_soi",
    "jamais_revoir_enfants",
    "confie_les_enfants",
}
_NOW = _rx(
    r"\b(?:(?:ce soir|ce matin|cette nuit)(?! (?:ca va|tout va bien|c est calme|il est calme|il n est pas la))|tout a l heure|"
    r"a l instant|la maintenant|en ce moment|tout de suite|au secours|aidez moi|il est la|elle est la|"
    r"(?<!si ca )(?<!si il )(?<!s il )(?<!si elle )(?<!si jamais ca )(?<!quand ca )recommence\w*)\b"
)
# Said to be calm (« il est à la maison, il bricole, tout va bien »).
_CALM = _rx(
    r"\b(?:tout va bien|tout se passe bien|c est calme|il est calme|elle est calme|je suis en securite|pas en danger|rien de grave|pas d urgence|(?:c est|il est|elle est|je suis|on est|tout est|suis|salon|canape) (?:\w+ )?tranquilles?)\b"
)
# Marked as a joke: the alarm words are a figure of speech unless the model reads otherwise.
_JOKE = _rx(
    r"\b(?:mdr+|lol|ptdr+|xptdr|mort de rire|haha\w*|hihi\w*|jpp|je rigole|je plaisante|je blague|c est une blague)\b"
)
_JOKE_EMOJI = frozenset("😂🤣😅😆😜😝🙃😹😄😁🙄")
_KIDS = r"(?:enfants|petits|gosses|gamins|bebe|timoun|ti moun|marmay|zanfan|fils|filles|garcons)"
_CHILDREN_THERE = _rx(
    rf"\b(?:devant|douvan|devan|divan) (?:les |mes |nos )?(?:\w+ )?{_KIDS}\b|"
    rf"\b{_KIDS}\b.{{0,40}}\b(?:caches?|sous le lit|dans le placard|pleurent|hurlent|crient|ont peur|voient tout|regardent|"
    rf"dans mes bras|avec moi|kriye|ka kriye)\b|\b(?:mon|ma) (?:bebe|fils|fille) (?:dans les bras|contre moi)\b"
)
# Candles, a coffin, a grave, a wilted flower beside a farewell: the line with the 3114.
_MOURNING_EMOJI = frozenset("🕯⚰🪦🥀")
_FAREWELL = _rx(
    r"\b(?:pensez|pense|pensez bien|ayez une pensee) (?:a|pour) moi\b|\bsouvenez vous de moi\b|\bne m oubliez pas\b|"
    r"\badieu\b|\bje vous aime (?:tous|toutes|fort)\b|\bprenez soin de vous\b|\bpardon a (?:tous|toutes|vous)\b"
)


def _without_idioms(text: str) -> str:
    normalized = normalize(text[:MAX_SCAN_CHARS])
    for idiom in _IDIOMS:
        normalized = idiom.sub(" ", normalized)
    return normalized


def _when(normalized: str, raw: str) -> tuple[bool, bool]:
    """(said to be now, told as not now): in the past, as a hypothesis, about a number, or as a joke."""
    now = bool(_NOW.search(normalized))
    joke = bool(_JOKE.search(normalized)) or any(ch in _JOKE_EMOJI for ch in raw[:MAX_SCAN_CHARS])
    told_in_past = bool(_PAST.search(normalized)) and not now
    hypothetical = not now and bool(_HYPOTHETICAL.search(normalized) or _ASKS_NUMBER.search(normalized))
    return now and not joke, joke or told_in_past or hypothetical


def told_not_now(text: str) -> bool:
    """True when the message places what it tells in the past, as a hypothesis or a joke, or
    says all is calm, and nothing in it says now: the safety model then needs to be surer to
    force an answer. (Calm alone never makes a detector signal unsure: see scan.)"""
    normalized = _without_idioms(text)
    now, not_now = _when(normalized, text)
    return not_now or (not now and bool(_CALM.search(normalized)))


def detect(text: str) -> DangerSignal | None:
    """The most urgent sure signal in `text`, or None."""
    signals = detect_all(text)
    return signals[0] if signals else None


def detect_all(text: str) -> list[DangerSignal]:
    """Sure signals in `text`, most urgent kind first, one per kind."""
    return [s for s in scan(text) if s.sure]


def scan(text: str) -> list[DangerSignal]:
    """Every signal, sure ones first then risks, most urgent kind first, one per kind.

    Linear in the length of `text` (every pattern's gaps are bounded), and bounded: past
    MAX_SCAN_CHARS only the beginning is read (channels refuse such messages anyway).
    """
    normalized = _without_idioms(text)
    now, not_now = _when(normalized, text)
    found: dict[str, DangerSignal] = {}
    for kind, name, pattern in _RULES:
        if kind in found and found[kind].sure:
            continue
        match = pattern.search(normalized)
        if match is None:
            continue
        span = match.group(0)
        # « il me frappait » is the past; « ils seraient mieux sans moi » (a conditional) is not.
        past = not_now or (kind != SUICIDE and bool(_IMPERFECT.search(span)) and not now)
        # « il est là mais c'est tranquille »: he is there, and she says it is calm (even with « là »).
        past = past or (kind == AGGRESSOR_PRESENT and bool(_CALM.search(normalized)))
        found[kind] = DangerSignal(kind, name, sure=not past and name not in _RISK_ONLY)
    if SUICIDE in found and CHILD not in found and _MINOR_OTHER.search(normalized):
        found[CHILD] = DangerSignal(CHILD, "mineur_concerne", sure=False)
    # Children there while she is attacked: the child's answer, which has the 17 and the 114 too.
    if DANGER in found and CHILD not in found and _CHILDREN_THERE.search(normalized):
        found[CHILD] = DangerSignal(CHILD, "enfants_presents", sure=found[DANGER].sure)
    if (
        SUICIDE not in found
        and any(ch in _MOURNING_EMOJI for ch in text[:MAX_SCAN_CHARS])
        and _FAREWELL.search(normalized)
    ):
        found[SUICIDE] = DangerSignal(SUICIDE, "adieu_emoji", sure=False)
    if CHILD not in found and _MINOR.search(normalized) and (_MINOR_HARM.search(normalized) or DANGER in found):
        found[CHILD] = DangerSignal(CHILD, "mineure", sure=not not_now)
    order = {k: i for i, k in enumerate(KINDS)}
    return sorted(found.values(), key=lambda s: (not s.sure, order[s.kind]))


def writer_is_minor(text: str) -> bool:
    """Someone under 18 seems to write about themselves (an age, school, a parent hitting them)."""
    normalized = normalize(text[:MAX_SCAN_CHARS])
    if _MINOR.search(normalized):
        return True
    return any(name == "mineure_maltraitee" and pattern.search(normalized) for _, name, pattern in _RULES)
