"""The phonetic teacher (the offline default, docs/design.md §2): pocketsphinx phones → visemes for the
audio, face-mesh lip geometry → visemes for the video, both over :data:`avcorr.teachers.visemes.VISEMES`."""
