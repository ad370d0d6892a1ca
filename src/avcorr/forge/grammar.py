"""GRID-like sentences: command colour preposition letter digit adverb (Cooke et al., 2006).

GRID's fixed six-slot grammar gives short sentences with every viseme class (bilabials in
"bin/place/blue/by/please", labiodentals in "F/V/five/four", rounded vowels in "blue/two/soon")
and a transcript that is known exactly. ``synth`` speaks them; ``forge tts-dub`` uses them as
replacement speech.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COMMANDS = ("bin", "lay", "place", "set")
COLOURS = ("blue", "green", "red", "white")
PREPOSITIONS = ("at", "by", "in", "with")
LETTERS = tuple("ABCDEFGHIJKLMNOPQRSTUVXYZ")  # GRID has no W
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ADVERBS = ("again", "now", "please", "soon")

#: How eSpeak must be given a letter so that it says the letter's name (a lone "A" is read as
#: the article).
SPOKEN_LETTER = {"A": "eh"}


@dataclass(frozen=True)
class Sentence:
    """One GRID sentence: its six ``words`` (letters upper case) and what eSpeak is given."""

    words: tuple[str, ...]

    @property
    def transcript(self) -> str:
        """Lower-case words, as GRID writes its transcripts ("place blue at f two now")."""
        return " ".join(w.lower() for w in self.words)

    @property
    def spoken(self) -> str:
        """The text for eSpeak: letters spelled so that they are said by name, with a full stop."""
        return " ".join(SPOKEN_LETTER.get(w, w) for w in self.words) + "."


def sample_sentence(rng: np.random.Generator) -> Sentence:
    """A uniformly random GRID sentence."""
    slots = (COMMANDS, COLOURS, PREPOSITIONS, LETTERS, DIGITS, ADVERBS)
    return Sentence(tuple(str(slot[int(rng.integers(len(slot)))]) for slot in slots))


def sample_utterance(rng: np.random.Generator, sentences: int) -> list[Sentence]:
    """``sentences`` random GRID sentences, spoken one after the other."""
    return [sample_sentence(rng) for _ in range(max(1, int(sentences)))]
