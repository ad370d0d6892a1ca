"""Media: the one loader every path goes through — decode, face tracking, crops, audio features."""
