"""The shared content vocabulary of the phonetic teacher: 15 visemes (docs/design.md §2).

A viseme is a class of speech sounds that look alike on the lips. Audio-side teachers map phones
to visemes, visual-side teachers predict a distribution over the same list, so the two can be
compared frame by frame. Phones are ARPAbet (CMUdict, pocketsphinx), stress digits stripped.
"""
from __future__ import annotations

VISEMES: list[str] = ["sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou"]
VISEME_INDEX: dict[str, int] = {name: i for i, name in enumerate(VISEMES)}

#: ARPAbet phone → viseme. Bilabials (PP) need closed lips; labiodentals (FF) and rounded vowels
#: (oh, ou) are the other classes a lip-sync generator most visibly gets wrong.
ARPABET_TO_VISEME: dict[str, str] = {
    "SIL": "sil", "SP": "sil", "NSN": "sil", "+NSN+": "sil", "+SPN+": "sil", "+BREATH+": "sil",
    "P": "PP", "B": "PP", "M": "PP",
    "F": "FF", "V": "FF",
    "TH": "TH", "DH": "TH",
    "T": "DD", "D": "DD",
    "K": "kk", "G": "kk", "NG": "kk", "HH": "kk",
    "CH": "CH", "JH": "CH", "SH": "CH", "ZH": "CH",
    "S": "SS", "Z": "SS",
    "N": "nn", "L": "nn",
    "R": "RR", "ER": "RR",
    "AA": "aa", "AE": "aa", "AH": "aa", "AW": "aa", "AY": "aa",
    "EH": "E", "EY": "E",
    "IH": "ih", "IY": "ih", "Y": "ih",
    "AO": "oh", "OW": "oh", "OY": "oh",
    "UH": "ou", "UW": "ou", "W": "ou",
}


def phone_to_viseme(phone: str) -> str:
    """Viseme of an ARPAbet phone (stress digits ignored); unknown phones count as silence."""
    key = phone.strip().upper().rstrip("012")
    return ARPABET_TO_VISEME.get(key, "sil")
