"""Media: the one loader every path goes through — decode, face tracking, crops, audio features.

The one way into a media file: :mod:`~avcorr.media.files` opens it (truthful reasons for paths
that cannot be read), :mod:`~avcorr.media.probe` reads its headers (size, rate, declared
durations, rotation, codecs), :mod:`~avcorr.media.decode` decodes it (upright frames at 25 fps,
optionally smaller; 16 kHz audio; corrupt packets skipped and counted) and
:mod:`~avcorr.media.coverage` says when what decoded is too little to judge. Face-mesh landmark
indices live in :mod:`~avcorr.media.landmarks`.
"""
