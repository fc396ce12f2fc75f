"""The deterministic danger detector: what it must catch, and what it must leave alone."""

import pytest

from bot.danger import AGGRESSOR_PRESENT, CHILD, DANGER, SUICIDE, detect, detect_all, scan, told_not_now

CAUGHT = [
    ("il me frappe", DANGER),
    ("Il m'étrangle, aidez-moi", DANGER),
    ("il va me tuer ce soir", DANGER),
    ("jai peur quil me tue", DANGER),
    ("ilva me tuer", DANGER),
    ("IL A UN COUTEAU", DANGER),
    ("il me menace avec un couteau", DANGER),
    ("au secours", DANGER),
    ("aidez moi vite", DANGER),
    ("il m a enfermée dans la chambre", DANGER),
    ("jsui enfermee il a pri mon tel", DANGER),
    ("il défonce la porte", DANGER),
    ("il m'a frappée encore ce soir", DANGER),
    ("mon mari vient de me frapper", DANGER),
    ("je saigne", DANGER),
    ("il veut me tuer", DANGER),
    ("il a menacé de me tuer si je pars", DANGER),
    ("aideeeez moi vite", DANGER),
    ("il frappe mon fils", CHILD),
    ("il a secoué le bébé", CHILD),
    ("ma fille a peur de lui, il la touche", CHILD),
    ("il s'en prend aux enfants", CHILD),
    ("les enfants sont en danger", CHILD),
    ("il fait du mal à ma fille", CHILD),
    ("j'ai envie de mourir", SUICIDE),
    ("je veux en finir", SUICIDE),
    ("je pense a me suicider", SUICIDE),
    ("je vais me foutre en l'air", SUICIDE),
    ("jveux plus vivre", SUICIDE),
    ("j'ai plus envie de vivre", SUICIDE),
    ("il est à côté je peux pas parler", AGGRESSOR_PRESENT),
    ("je peux pas parler", AGGRESSOR_PRESENT),
    ("je chuchote, il est dans le salon", AGGRESSOR_PRESENT),
    ("il lit par dessus mon épaule", AGGRESSOR_PRESENT),
    ("je me suis cachée dans la salle de bain", AGGRESSOR_PRESENT),
    ("il revient, je dois faire vite", AGGRESSOR_PRESENT),
]

NEAR_MISSES = [
    "je suis enfermée dans les dettes depuis qu'il a vidé le compte, l'aide d'urgence c'est quoi ?",
    "je vais mourir de honte si ma famille apprend que j'ai demandé une aide",
    "il me tue de rire",
    "mon mari me tue de rire avec ses blagues",
    "ce boulot me tue",
    "je meurs de faim",
    "il a tué le match hier",
    "j'ai failli mourir de rire",
    "je suis morte de fatigue",
    "mon chef va me tuer si je suis en retard",
    "ma mère va me tuer",
    "il fait une chaleur à mourir",
    "je me tue à le répéter",
    "il me tape sur les nerfs",
    "mon fils me tape sur le système",
    "je veux en finir avec lui",
    "je peux pas parler de ça à ma mère",
    "je peux pas parler français très bien",
    "il est la raison de mon malheur",
    "il m'a frappée l'an dernier, c'est de la violence ?",
    "ma fille touche à tout",
    "il touche un petit salaire",
    "avec l'aide de ma soeur",
    "je vais me tuer au travail",
    "il est rentré du travail",
    "c'est quoi l'aide universelle d'urgence",
    "comment porter plainte",
    "il contrôle mon argent",
    "bonjour",
]


@pytest.mark.parametrize("text,kind", CAUGHT)
def test_danger_is_caught(text, kind):
    signal = detect(text)
    assert signal is not None, text
    assert signal.kind == kind


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_figurative_or_harmless_text_is_left_alone(text):
    assert detect(text) is None


def test_most_urgent_kind_comes_first():
    kinds = [s.kind for s in detect_all("il est là, il a un couteau, je veux mourir")]
    assert kinds == [DANGER, SUICIDE, AGGRESSOR_PRESENT]


def test_idiom_does_not_hide_real_danger_in_the_same_message():
    assert detect("il me tue de rire d'habitude mais ce soir il m'étrangle").kind == DANGER


def test_signal_names_a_rule_never_the_text():
    signal = detect("il va me tuer")
    assert "tuer" not in signal.rule and signal.intent == "urgence_danger"


@pytest.mark.parametrize(
    "text,kind",
    [
        ("il a menacé de tuer les enfants si je pars", CHILD),
        ("je n'ai plus envie de me réveiller le matin", SUICIDE),
        ("on est dans la même pièce, pas moyen de parler", AGGRESSOR_PRESENT),
        ("il est dans l'appartement, il m'entendrait si j'appelais", AGGRESSOR_PRESENT),
    ],
)
def test_indirect_wording_is_caught(text, kind):
    assert detect(text).kind == kind


@pytest.mark.parametrize(
    "text",
    [
        "il est dans la voiture avec moi, je peux rien faire",
        "je suis juste à côté de lui là",
        "il dort à côté, je tape doucement",
        "impossible de passer un appel il surveille",
        "comment prévenir la police sans faire de bruit",
    ],
)
def test_he_is_there_in_other_words(text):
    assert detect(text).kind == "agresseur_present"


@pytest.mark.parametrize(
    "text",
    [
        "impossible de parler de ça avec ma mère",
        "je suis à côté de la gare",
        "il dort beaucoup",
        "je suis avec lui depuis 10 ans",
    ],
)
def test_he_is_there_near_misses(text):
    assert detect(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "je suis sur le toit et je regarde en bas",
        "j'ai envie de sauter du pont",
        "je vais me jeter par la fenêtre",
        "je suis au bord du vide",
    ],
)
def test_suicidal_scenes(text):
    assert detect(text).kind == "suicide"


@pytest.mark.parametrize(
    "text", ["on a traversé le pont en voiture", "le chat a sauté du balcon", "sur le pont d'avignon"]
)
def test_suicidal_scene_near_misses(text):
    assert detect(text) is None


@pytest.mark.parametrize(
    "text", ["je me suis coupée les poignets", "j'ai envie de me couper les bras", "je me fais du mal le soir"]
)
def test_self_harm(text):
    assert detect(text).kind == "suicide"


@pytest.mark.parametrize("text", ["je me suis coupée en cuisinant", "il va me faire du mal"])
def test_self_harm_near_misses(text):
    signal = detect(text)
    assert signal is None or signal.kind != "suicide"


@pytest.mark.parametrize("text", ["mon mari est juste derrière la porte", "il est encore là, dans le salon"])
def test_he_is_there_with_an_adverb(text):
    assert detect(text).kind == "agresseur_present"


@pytest.mark.parametrize(
    "text,kind",
    [
        ("no puedo más, quiero morir", SUICIDE),
        ("I want to die, sorry my french is bad", SUICIDE),
        ("quero morrer, não aguento mais", SUICIDE),
        ("help he is hitting me", DANGER),
        ("socorro, me pega mi marido", DANGER),
    ],
)
def test_the_worst_written_in_another_language_is_caught(text, kind):
    assert detect(text).kind == kind


@pytest.mark.parametrize(
    "text", ["je veux mourir de rire", "help, le formulaire est en anglais", "I want to die my hair"]
)
def test_other_languages_near_misses(text):
    assert detect(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "J'ai 17 ans. Mon père veut me marier au pays cet été avec un cousin. Il a gardé mon passeport.",
        "mes parents veulent me marier de force, j'ai 15 ans",
        "j'ai 14 ans et ma tante dit qu'on va me faire exciser pendant les vacances",
    ],
)
def test_a_minor_married_off_or_cut_gets_the_119(text):
    assert detect(text).kind == CHILD


def test_her_age_is_not_a_question_about_the_17():
    # « 17 ans » once read as « le 17 ? », a question about the number: the signal was then not sure.
    assert detect("j'ai 17 ans mon beau-père me frappe").kind == CHILD
    assert told_not_now("le 17 c'est gratuit ?")
    assert not told_not_now("j'ai 17 ans et il me frappe là")


@pytest.mark.parametrize(
    "text",
    [
        "comment on fait pour disparaître sans faire de peine à personne",
        "je voudrais juste disparaître",
        "J'ai distribué mes affaires à mes collègues aujourd'hui. Ils croient que je déménage.",
    ],
)
def test_farewells_that_never_say_dying_get_the_3114_in_the_line(text):
    risks = [s for s in scan(text) if s.kind == SUICIDE]
    assert risks and not risks[0].sure  # the line of numbers, never the emergency answer on its own


@pytest.mark.parametrize(
    "text",
    [
        "comment faire disparaître cette conversation",
        "je veux disparaître de sa vie, comment trouver un logement",
        "j'ai donné mes vieux vêtements à une association, je déménage",
        "j'ai 16 ans je veux me marier avec mon copain c'est possible ?",
    ],
)
def test_leaving_him_or_giving_clothes_is_no_farewell(text):
    assert not [s for s in scan(text) if s.kind in (SUICIDE, CHILD)]


def test_her_things_left_at_his_place_are_no_farewell():
    assert not scan("j'ai laissé mes affaires chez lui, comment les récupérer ?")


@pytest.mark.parametrize(
    "text",
    [
        "Infirmière scolaire : une élève de 13 ans me dit qu'on va la marier au pays cet été, elle part samedi",
        "mon mari veut marier notre fille de 15 ans au pays",
        "il menace de sauter par la fenêtre avec notre fille dans les bras, il est sur le balcon avec elle",
    ],
)
def test_a_child_at_risk_told_by_someone_else_gets_the_119(text):
    assert detect(text).kind == CHILD


def test_his_threat_to_jump_is_not_her_suicide():
    assert SUICIDE not in {s.kind for s in scan("il menace de sauter du balcon si je pars")}


@pytest.mark.parametrize(
    "text",
    [
        "Elle me tue, cette administration 🙄 où dépose-t-on le dossier ?",
        "il me tue ce dossier, il manque toujours un papier",
    ],
)
def test_a_thing_that_kills_her_is_a_figure_of_speech(text):
    assert detect(text) is None


def test_past_told_in_the_present_by_a_learner_is_not_now():
    text = "Avant mon mari me bat, maintenant je suis seule en France. Je veux travailler, comment ?"
    assert [s.sure for s in scan(text)] == [False]
    # …but « maintenant » with a threat is now.
    assert detect("avant il me frappait, maintenant il me menace de mort ce soir").kind == DANGER


def test_calm_raises_the_model_bar_but_never_hides_a_threat():
    assert told_not_now("il est à la maison, il bricole, tout va bien. il verra qu'on a parlé ?")
    assert not told_not_now("il est calme pour l'instant mais il a dit qu'il me tuerait ce soir")
    assert detect("il est calme pour l'instant mais il a dit qu'il me tuerait ce soir").kind == DANGER


@pytest.mark.parametrize(
    "text",
    [
        "la mutuelle paie-t-elle mes obsèques ? ce sera bientôt",
        "qui gardera mon chien quand je ne serai plus là ?",
        "si je meurs, est-ce que mes parents touchent l'assurance ?",
        "j'ai fixé le jour, je voudrais que mes comptes soient fermés",
    ],
)
def test_the_logistics_of_her_own_death_start_the_line_with_the_3114(text):
    risks = [s for s in scan(text) if s.kind == SUICIDE]
    assert risks and not risks[0].sure


@pytest.mark.parametrize(
    "text",
    [
        "ma mère est morte l'an dernier, je dois organiser ses obsèques, il y a une aide ?",
        "je serai plus là à partir de 18h, on reprend demain ?",
        "après sa mort, mon père m'a laissé une maison, il peut la prendre ?",
    ],
)
def test_someone_else_s_death_or_an_absence_is_no_farewell(text):
    assert not [s for s in scan(text) if s.kind == SUICIDE]


@pytest.mark.parametrize(
    "text",
    ["my son is 8 and his dad beats him every night", "mi hija tiene 12 años, su padre la golpea"],
)
def test_a_child_hurt_written_in_english_or_spanish_gets_the_119(text):
    assert detect(text).kind == CHILD


@pytest.mark.parametrize(
    "text",
    [
        "j'ai encore des cauchemars où il m'étrangle, il y a des psys gratuits ?",
        "mon mal de dos me tue, je peux travailler assise ?",
        "avant il me bat, aujourd'hui il est en prison. j'ai droit à quoi ?",
    ],
)
def test_dreams_pains_and_a_past_told_in_the_present_are_not_an_attack_now(text):
    assert not detect_all(text)


def test_he_is_there_but_all_is_calm_gives_the_line_not_the_alarm():
    signals = scan("il est dans le salon, il regarde la télé, tout va bien. le pack c'est quoi ?")
    assert [(s.kind, s.sure) for s in signals] == [(AGGRESSOR_PRESENT, False)]


@pytest.mark.parametrize(
    "text",
    [
        "je suis gendarme, je ramène mon arme de service chez moi depuis qu'elle est partie et je la sors le soir",
        "mon fusil de chasse est sous mon lit, je le regarde souvent en ce moment",
        "🕯️ pensez à moi ce soir",
        "⚰️ adieu à tous, prenez soin de vous",
    ],
)
def test_her_own_weapon_or_a_mourning_farewell_starts_the_line_with_the_3114(text):
    risks = [s for s in scan(text) if s.kind == SUICIDE]
    assert risks and not risks[0].sure


@pytest.mark.parametrize(
    "text",
    [
        "il a son arme de service, il la pose sur la table quand il crie",  # his weapon: danger, not her suicide
        "pensez à moi demain, j'ai mon entretien à France Travail",
        "🕯️ ce soir j'allume des bougies pour mon anniversaire, le pack c'est quoi ?",
    ],
)
def test_his_weapon_or_a_plain_wish_is_no_farewell(text):
    assert not [s for s in scan(text) if s.kind == SUICIDE]


def test_a_parent_leaving_for_good_with_the_children_gets_the_119():
    assert detect("son message : « on part tous ensemble pour toujours, les enfants et moi »").kind == CHILD
    threat = "il m'a écrit « tu ne reverras jamais les enfants », il peut avoir la garde ?"
    custody = [s for s in scan(threat) if s.kind == CHILD]
    assert custody and not custody[0].sure  # a custody threat or worse: the line, not the alarm


def test_leaving_for_good_without_children_is_no_child_emergency():
    moving = "on part pour de bon de cette ville avec mon copain, on cherche un logement"
    assert not [s for s in scan(moving) if s.kind == CHILD]


@pytest.mark.parametrize(
    "text,kind",
    [
        ("the boyfriend slapped the 4 year old, she has bruises on her face, I'm the neighbour", CHILD),
        ("nobody would miss me anyway, I got a rope", SUICIDE),
        ("misye ka bat mwen, aidez moi", DANGER),
        ("on a fui chez la gardienne, il nous cherche dans l'immeuble", DANGER),
        ("il me frappe devant les enfants, ils pleurent", CHILD),
    ],
)
def test_other_wordings_of_now_are_caught(text, kind):
    assert detect(text).kind == kind


@pytest.mark.parametrize(
    "text",
    [
        "il rentre dans trois heures, je voudrais effacer cette conversation avant, comment faire ?",
        "dann tan, mon bonom té i tap amoin. astèr mi rod in logement",
        "il me cherche partout sur les réseaux depuis que je suis partie, je peux porter plainte ?",
        "elle me traque sur Instagram, c'est du harcèlement ?",
    ],
)
def test_later_the_past_or_online_is_not_an_attack_now(text):
    assert not detect_all(text)


@pytest.mark.parametrize(
    "text",
    [
        "ce soir j'irai marcher dans la mer sans revenir",
        "je voudrais juste que tout ça se taise, jusqu'à ce que ça s'arrête",
        "ma sœur m'a écrit « prenez soin de mes enfants », elle ne répond plus",
    ],
)
def test_the_water_or_the_children_left_to_someone_start_the_line_with_the_3114(text):
    assert [s for s in scan(text) if s.kind == SUICIDE]


@pytest.mark.parametrize(
    "text",
    [
        "occupe-toi des enfants ce week-end, je travaille samedi",
        "on va marcher dans l'eau à la plage de Trestraou avec les enfants, il y a une aide pour les vacances ?",
    ],
)
def test_a_weekend_s_childcare_or_a_beach_walk_is_no_farewell(text):
    assert not [s for s in scan(text) if s.kind == SUICIDE]


def test_he_is_there_but_she_says_it_is_calm_is_the_line_even_with_la():
    signals = scan("il est là mais c'est tranquille, je peux garder le bail à mon nom ?")
    assert signals and not any(s.sure for s in signals)
