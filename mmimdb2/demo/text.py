"""Demo plots and titles: generic filler sentences with genre-associated phrases mixed in.

A plot expresses each of its movie's genres only with some probability, borrows a phrase from an
unrelated genre now and then, and some plots are uninformative (filler only) or misleading (the
phrases of other genres). Related genres share phrases (a murder belongs to Crime, Mystery,
Thriller and Film-Noir), so a bag of words sees the genres through noise, as in real plots.
"""

from __future__ import annotations

import numpy as np

from mmimdb2.genres import GENRES

#: Genre-associated noun phrases; each is dropped into a sentence template.
LEXICON: dict[str, tuple[str, ...]] = {
    "Drama": ("a painful family secret", "grief", "a troubled marriage", "an estranged father",
              "a difficult choice", "guilt and forgiveness", "a terminal illness", "a broken home",
              "redemption", "a dying mother", "years of regret", "a fragile friendship",
              "poverty", "addiction", "a moral crisis", "the loss of a child"),
    "Comedy": ("a hilarious mix-up", "a series of pranks", "an awkward dinner party", "a bumbling uncle",
               "a ridiculous bet", "slapstick chaos", "a clumsy impostor", "a wacky road trip",
               "mistaken identities", "a disastrous wedding", "a goofy best friend", "comic misadventures",
               "an absurd scheme", "a talking parrot", "embarrassing lies", "a wild bachelor party"),
    "Romance": ("love at first sight", "a forbidden romance", "a passionate affair", "a first kiss",
                "a love triangle", "a marriage proposal", "heartbreak", "a summer romance",
                "two lovers", "a secret admirer", "an unlikely couple", "true love",
                "a wedding", "a romantic getaway", "a lost love", "a blind date"),
    "Thriller": ("a deadly conspiracy", "a ruthless assassin", "a kidnapping", "a race against time",
                 "a hostage crisis", "a stalker", "a double agent", "a murder", "a cover-up",
                 "a ticking bomb", "paranoia", "a deadly chase", "blackmail", "a serial killer",
                 "a web of lies", "an abduction"),
    "Crime": ("a bank robbery", "the mob", "a drug cartel", "a corrupt cop", "a murder",
              "a heist", "a gang war", "a mafia boss", "organised crime", "a detective",
              "money laundering", "a prison break", "a hitman", "the police investigation",
              "stolen diamonds", "a crime syndicate"),
    "Action": ("explosive gunfights", "a car chase", "a martial arts expert", "a commando raid",
               "a ruthless warlord", "a rescue mission", "hand-to-hand combat", "a deadly chase",
               "an elite squad", "a helicopter assault", "a dangerous mission", "mercenaries",
               "a showdown", "a terrorist plot", "heavy firepower", "a special forces unit"),
    "Adventure": ("a lost treasure", "an uncharted island", "a perilous journey", "a jungle expedition",
                  "an ancient map", "pirates", "a quest", "a dangerous mission", "a hidden temple",
                  "a shipwreck", "an epic voyage", "a mountain crossing", "explorers",
                  "a desert trek", "a legendary artifact", "a daring escape"),
    "Horror": ("a haunted house", "a demon", "a bloodthirsty creature", "a curse", "the undead",
               "a possessed child", "zombies", "a vampire", "an evil spirit", "a slaughter",
               "a satanic cult", "a masked killer", "nightmares", "a cursed doll",
               "a graveyard at midnight", "a serial killer"),
    "Documentary": ("interviews with experts", "archival footage", "a real-life investigation",
                    "firsthand testimonies", "a portrait of a community", "the filmmakers",
                    "the true story", "a scientific study", "climate change", "a social issue",
                    "rare footage", "eyewitnesses", "an investigative report", "real events",
                    "a behind-the-scenes look", "the state of the world"),
    "Mystery": ("a puzzling disappearance", "a detective", "a locked-room murder", "hidden clues",
                "a murder", "an anonymous letter", "a riddle", "a missing heiress",
                "a strange stranger", "secrets of the manor", "an unsolved case", "a cryptic message",
                "a suspect", "a web of lies", "a vanished witness", "a mysterious death"),
    "Sci-Fi": ("an alien invasion", "a spaceship", "time travel", "a distant planet", "robots",
               "a genetic experiment", "a dystopian future", "artificial intelligence", "a cyborg",
               "a space station", "a parallel universe", "a galactic empire", "a mad scientist",
               "a deadly virus", "teleportation", "an asteroid"),
    "Fantasy": ("a powerful wizard", "a dragon", "an enchanted kingdom", "a magic sword", "a sorceress",
                "fairies", "an ancient prophecy", "a quest", "elves", "a magical amulet",
                "a cursed prince", "a talking wolf", "spells", "a mythical realm",
                "a dark lord", "a legendary artifact"),
    "Family": ("a lovable dog", "a summer camp", "a big family", "a school holiday", "a lost puppy",
               "a kind grandmother", "siblings", "a christmas miracle", "a magical toy",
               "a family vacation", "a pony", "kids", "a treehouse", "a birthday party",
               "a friendly ghost", "a school talent show"),
    "Biography": ("the true story", "the life of a pioneer", "a famous inventor", "a celebrated painter",
                  "a real-life champion", "the early years", "the rise to fame", "a legendary singer",
                  "a controversial politician", "a memoir", "real events", "a historical figure",
                  "a remarkable life", "a scientist's discoveries", "a biopic", "a troubled genius"),
    "War": ("the front line", "soldiers", "a battlefield", "a prisoner of war camp", "the trenches",
            "a bombing raid", "an army platoon", "the invasion", "a wartime resistance", "a general",
            "the enemy lines", "a fighter pilot", "a submarine", "a military occupation",
            "the last battle", "a field hospital"),
    "History": ("an ancient empire", "a royal court", "a revolution", "the nineteenth century",
                "a medieval kingdom", "a famous battle", "a queen", "historical events", "a dynasty",
                "colonial times", "an emperor", "the industrial age", "a great civilization",
                "a historical figure", "a royal scandal", "real events"),
    "Animation": ("a talking animal", "a cartoon world", "a brave little mouse", "toys that come alive",
                  "a colourful kingdom", "a magical creature", "a robot friend", "a clever fox",
                  "a tiny hero", "animated adventures", "a singing fish", "a group of penguins",
                  "a dancing bear", "a cartoon villain", "a cuddly monster", "an animated world"),
    "Music": ("a rock band", "a concert tour", "a record deal", "a struggling musician",
              "a jazz club", "a talented singer", "a songwriter", "a piano prodigy", "a music festival",
              "an orchestra", "a hit song", "a legendary singer", "a recording studio",
              "a punk scene", "a guitar", "a talent contest"),
    "Musical": ("song and dance numbers", "a broadway show", "a chorus line", "a stage production",
                "a dance troupe", "show tunes", "a singing chorus", "a musical revue", "a dance contest",
                "a cabaret", "a showgirl", "tap dancing", "an opening night", "a big production number",
                "an operetta", "a ballroom"),
    "Western": ("a gunslinger", "a sheriff", "cattle rustlers", "a frontier town", "an outlaw gang",
                "a saloon", "a stagecoach", "a cowboy", "the wild west", "a ranch", "a bounty hunter",
                "a showdown", "horse thieves", "a gold rush", "the railroad", "a posse"),
    "Sport": ("a championship game", "a boxing match", "an underdog team", "a tough coach",
              "the big race", "a football season", "a baseball team", "the olympics", "a comeback",
              "a marathon", "a tournament", "a rival team", "a real-life champion", "training",
              "a final match", "a star athlete"),
    "Short": ("a brief encounter", "a single afternoon", "a fleeting moment", "a short film",
              "one small gesture", "a brief experiment", "a silent vignette", "an odd little moment",
              "a quick sketch", "a few minutes", "a tiny story", "a simple situation"),
    "Film-Noir": ("a femme fatale", "a hard-boiled detective", "a shadowy nightclub", "a double cross",
                  "a murder", "a private eye", "a dark city", "an insurance fraud", "a crooked lawyer",
                  "a fatal attraction", "rain-soaked streets", "a doomed man", "a smoky bar",
                  "a blackmail scheme", "a web of lies", "a stolen fortune"),
}  # fmt: skip

#: Sentences carrying genre phrases ({kw}, {kw2}) and a character ({name}).
GENRE_TEMPLATES: tuple[str, ...] = (
    "{name} is drawn into {kw}.", "Soon {name} must face {kw}.", "What follows involves {kw} and {kw2}.",
    "The story centres on {kw}.", "Everything changes with {kw}.", "It is a tale of {kw}.",
    "Before long there is {kw}.", "{name} becomes caught up in {kw} and {kw2}.",
    "At the heart of it lies {kw}.", "Then comes {kw}, and nothing is the same.",
    "{name} learns about {kw}.", "Along the way {name} meets {kw}.",
)  # fmt: skip

#: Filler sentences with no genre signal.
FILLER_TEMPLATES: tuple[str, ...] = (
    "{name} lives in {place} with {rel}.", "{name} returns to {place} after many years.",
    "One {time}, {name} receives {thing}.", "{name} and {name2} meet in {place}.",
    "Nobody in {place} expects what happens next.", "{name} works long hours and rarely sleeps.",
    "{name2} tries to help, but {name} refuses.", "The days pass slowly in {place}.",
    "{name} keeps {thing} hidden from {rel}.", "Over one {time}, old habits begin to change.",
    "{name} decides to leave {place}.", "{name2} has plans of their own.",
    "An unexpected visit from {rel} changes the routine.", "{name} writes a long letter and never sends it.",
    "Each {time} {name} walks past the same corner of {place}.", "The two of them barely speak.",
    "{name} has always wanted to see the world beyond {place}.", "People in {place} talk.",
    "{name} finds {thing} in an old drawer.", "{name2} offers {name} a job in {place}.",
)  # fmt: skip

_PLACES = ("a small town", "the city", "a quiet suburb", "a seaside village", "a crowded apartment",
           "the old neighbourhood", "a northern port", "the countryside", "a busy street", "a hotel")  # fmt: skip
_TIMES = ("morning", "evening", "winter", "summer", "weekend", "autumn", "spring", "night")
_THINGS = ("a letter", "a phone call", "an old photograph", "a package", "a postcard", "a key",
           "a note", "an invitation", "a notebook", "a gift")  # fmt: skip
_RELATIVES = ("a younger sister", "an old friend", "a neighbour", "a cousin", "a roommate",
              "a brother", "an aunt", "a colleague", "a son", "a daughter")  # fmt: skip
_CHARACTERS = ("Anna", "Ben", "Clara", "David", "Eva", "Frank", "Grace", "Henry", "Iris", "Jack",
               "Kate", "Leo", "Maya", "Nathan", "Olivia", "Peter", "Rita", "Sam", "Tom", "Vivian")  # fmt: skip

_TITLE_ADJ = ("Silent", "Last", "Broken", "Golden", "Long", "Hidden", "Distant", "Crimson", "Quiet",
              "Lost", "Second", "Wild", "Bright", "Cold", "Final", "Little", "Endless", "Empty")  # fmt: skip
_TITLE_NOUN = ("River", "Summer", "Road", "Promise", "Harbor", "Night", "Garden", "Station", "Letter",
               "Horizon", "Winter", "Mirror", "Bridge", "Voice", "Island", "Shadow", "Season", "House",
               "Stranger", "Window", "Valley", "Crossing", "Song", "Frontier")  # fmt: skip


def _pick(rng: np.random.Generator, items: tuple[str, ...]) -> str:
    return items[int(rng.random() * len(items))]  # much faster than rng.integers per call


def genre_sentence(rng: np.random.Generator, genre: str) -> str:
    """One sentence carrying phrases of ``genre``."""
    lex = LEXICON[genre]
    a, b = rng.choice(len(lex), size=2, replace=False)
    s = _pick(rng, GENRE_TEMPLATES).format(name=_pick(rng, _CHARACTERS), kw=lex[a], kw2=lex[b])
    return s[0].upper() + s[1:]


def filler_sentence(rng: np.random.Generator) -> str:
    """One sentence with no genre signal."""
    n1, n2 = rng.choice(len(_CHARACTERS), size=2, replace=False)
    s = _pick(rng, FILLER_TEMPLATES).format(
        name=_CHARACTERS[n1], name2=_CHARACTERS[n2], place=_pick(rng, _PLACES), time=_pick(rng, _TIMES),
        thing=_pick(rng, _THINGS), rel=_pick(rng, _RELATIVES),
    )  # fmt: skip
    return s[0].upper() + s[1:]


def _words(sentences: list[str]) -> int:
    return sum(len(s.split()) for s in sentences)


def make_plot(
    rng: np.random.Generator, genres: list[str], *, p_express: float, p_distractor: float,
    min_words: int = 30, max_words: int = 120,
) -> str:  # fmt: skip
    """A plot of ``min_words``-``max_words`` words: each genre of ``genres`` expressed with
    probability ``p_express`` by one or two sentences, maybe a sentence from a random other genre,
    the rest filler, in random order."""
    target = int(np.clip(rng.lognormal(np.log(62), 0.35), min_words, max_words))
    signal = []
    for g in genres:
        if rng.random() < p_express:
            signal += [genre_sentence(rng, g) for _ in range(1 + int(rng.random() < 0.4))]
    if rng.random() < p_distractor:
        signal.append(genre_sentence(rng, _pick(rng, GENRES)))
    while _words(signal) > max_words - 20:
        signal.pop(int(rng.integers(len(signal))))
    filler = [filler_sentence(rng)]
    while _words(signal + filler) < target:
        filler.append(filler_sentence(rng))
    while _words(signal + filler) > max_words and len(filler) > 1:
        filler.pop()
    order = rng.permutation(len(signal) + len(filler) - 1) + 1
    body = signal + filler[1:]
    text = [filler[0]] + [body[i - 1] for i in order]
    while _words(text) < min_words:
        text.append(filler_sentence(rng))
    return " ".join(text)


def make_title(rng: np.random.Generator) -> str:
    """A synthetic but plausible title."""
    form = int(rng.integers(4))
    adj, noun, noun2 = _pick(rng, _TITLE_ADJ), _pick(rng, _TITLE_NOUN), _pick(rng, _TITLE_NOUN)
    if form == 0:
        return f"The {adj} {noun}"
    if form == 1:
        return f"{adj} {noun}"
    if form == 2:
        return f"The {noun} of {_pick(rng, _CHARACTERS)}"
    return f"{noun} and {noun2}" if noun != noun2 else f"A {adj} {noun}"
