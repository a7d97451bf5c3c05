"""Small dataset folders built in the tests, each in a real dataset's layout and with its quirks.

Audio files are real MP3s (44.1 kHz stereo, as PMEmo and the 1000-songs set ship them), written
with soundfile; or copies of the demo generator's songs, where a test needs audio whose labels
mean something. Annotation files are written byte for byte as each dataset ships them (header
spellings, column order, CRLF where the dataset has it).
"""

from __future__ import annotations

import shutil
import zlib
from pathlib import Path

import numpy as np
import soundfile as sf

from helpers import FIXTURES

DEAM_2013 = FIXTURES / "static_annotations_averaged_songs_1_2000.csv"
DEAM_2015 = FIXTURES / "static_annotations_averaged_songs_2000_2058.csv"

PMEMO_HEADER = "musicId,Arousal(mean),Valence(mean)"
EMOMUSIC_HEADER = "song_id,mean_arousal,std_arousal,mean_valence,std_valence"


def write_clip(path: Path, seconds: float = 0.3, sample_rate: int = 44100, channels: int = 2,
               frequency: float = 440.0) -> Path:
    """A short tone as a real audio file; the format follows the suffix (MP3 for .mp3)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    tone = (0.2 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    sf.write(path, np.stack([tone] * channels, axis=1), sample_rate)
    return path


def place_audio(folder: Path, ids, sources: dict | None = None, extension: str = ".mp3") -> None:
    """``<id><extension>`` in ``folder`` for every id: a copy of ``sources[id]`` when given, else a tone."""
    folder.mkdir(parents=True, exist_ok=True)
    for song_id in ids:
        target = folder / f"{song_id}{extension}"
        if sources is not None and song_id in sources:
            shutil.copy(sources[song_id], target)
        else:
            write_clip(target, frequency=220.0 + 20.0 * (zlib.crc32(str(song_id).encode()) % 20))


def make_deam_unzipped(root: Path, audio_ids=(), csv_texts: dict[str, str] | None = None,
                       sources: dict | None = None) -> Path:
    """DEAM as some copies unpack: ``annotations/...`` and ``MEMD_audio/`` directly under ``root``
    (default annotation files: the real ones, as shipped)."""
    song_level = root / "annotations" / "annotations averaged per song" / "song_level"
    song_level.mkdir(parents=True)
    dynamic = root / "annotations" / "annotations averaged per song" / "dynamic (per second annotations)"
    dynamic.mkdir(parents=True)
    (dynamic / "arousal.csv").write_bytes(b"song_id,sample_15000ms,sample_15500ms\r\n2,-0.1,-0.12\r\n")
    if csv_texts is None:
        shutil.copy(DEAM_2013, song_level)
        shutil.copy(DEAM_2015, song_level)
    else:
        for name, text in csv_texts.items():
            (song_level / name).write_bytes(text.encode())
    place_audio(root / "MEMD_audio", audio_ids, sources)
    return root


def pmemo_text(rows: list[tuple], header: str = PMEMO_HEADER, newline: str = "\n") -> str:
    """PMEmo's static_annotations.csv: rows of (musicId, arousal, valence), arousal first."""
    return newline.join([header] + [",".join(str(x) for x in row) for row in rows]) + newline


def make_pmemo(root: Path, rows: list[tuple], audio_ids=(), text: str | None = None,
               sources: dict | None = None) -> Path:
    """PMEmo 2019 as distributed below ``root``: PMEmo2019/annotations/ (the static file, and the
    std, dynamic files beside it), PMEmo2019/chorus/<musicId>.mp3, PMEmo2019/metadata.csv."""
    base = root / "PMEmo2019"
    annotations = base / "annotations"
    annotations.mkdir(parents=True)
    (annotations / "static_annotations.csv").write_text(text if text is not None else pmemo_text(rows))
    # beside it, never read as labels: the std file has the same header
    (annotations / "static_annotations_std.csv").write_text(pmemo_text([(r[0], 0.1, 0.1) for r in rows],
                                                                       "musicId,Arousal(std),Valence(std)"))
    (annotations / "dynamic_annotations.csv").write_text(
        "musicId,frameTime,Arousal(mean),Valence(mean)\n" + "".join(f"{r[0]},15.5,0.5,0.5\n" for r in rows))
    (base / "metadata.csv").write_text("musicId,fileName,title,artist\n"
                                       + "".join(f"{r[0]},{r[0]}.mp3,song {r[0]},artist\n" for r in rows))
    place_audio(base / "chorus", audio_ids, sources)
    return root


def emomusic_text(rows: list[tuple], header: str = EMOMUSIC_HEADER, newline: str = "\n") -> str:
    """The 1000-songs static_annotations.csv: rows of (song_id, mean_arousal, mean_valence); the std
    columns are filled with values that would be wrong labels, to show they are never read."""
    lines = [header] + [f"{sid},{a},{0.9},{v},{0.8}" for sid, a, v in rows]
    return newline.join(lines) + newline


def make_emomusic(root: Path, rows: list[tuple], audio_ids=(), text: str | None = None,
                  sources: dict | None = None) -> Path:
    """The 1000-songs set as distributed: annotations/ (static, dynamic and songs_info files) and
    clips_45seconds/<song_id>.mp3."""
    annotations = root / "annotations"
    annotations.mkdir(parents=True)
    (annotations / "static_annotations.csv").write_text(text if text is not None else emomusic_text(rows))
    (annotations / "arousal_cont_average.csv").write_text("song_id,sample_15000ms\n" +
                                                         "".join(f"{r[0]},0.1\n" for r in rows))
    (annotations / "songs_info.csv").write_text("song_id,file_name,Artist,Song title\n" +
                                               "".join(f"{r[0]},{r[0]}.mp3,a,t\n" for r in rows))
    place_audio(root / "clips_45seconds", audio_ids, sources)
    return root


def write_manifest(path: Path, header: str, rows: list[tuple]) -> Path:
    """A manifest CSV with ``header`` and one line per row (values written as given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header] + [",".join(str(x) for x in row) for row in rows]) + "\n")
    return path


# --------------------------------------------------------------------------- real songs in each layout


def relabelled(songs, lo: float, hi: float) -> list[tuple[str, float, float]]:
    """(song_id, valence, arousal) of a song table (labels on -1..1) on the scale lo..hi, rounded
    as datasets ship them."""
    half, centre = (hi - lo) / 2, (hi + lo) / 2
    return [(str(s), round(v * half + centre, 4), round(a * half + centre, 4))
            for s, v, a in zip(songs["song_id"], songs["valence"], songs["arousal"])]


def layout_from_songs(dataset: str, songs, root: Path) -> Path:
    """The songs of a song table (e.g. the demo's, labels on -1..1, ``path`` to real MP3s) written
    as ``dataset`` ships: pmemo, emomusic, deam-unzipped or manifest (scale 0..100, artist groups,
    audio in album folders). Returns the data.root to use."""
    sources = dict(zip(songs["song_id"].astype(str), songs["path"]))
    ids = list(sources)
    if dataset == "pmemo":
        rows = [(s, a, v) for s, v, a in relabelled(songs, 0, 1)]  # arousal first, as PMEmo ships
        return make_pmemo(root, rows, ids, sources=sources)
    if dataset == "emomusic":
        rows = [(s, a, v) for s, v, a in relabelled(songs, 1, 9)]
        return make_emomusic(root, rows, ids, sources=sources)
    if dataset == "deam-unzipped":
        lines = ["song_id, valence_mean, valence_std, arousal_mean, arousal_std"]
        lines += [f"{s}, {v}, 1.0, {a}, 1.0" for s, v, a in relabelled(songs, 1, 9)]
        text = "\r\n".join(lines) + "\r\n"
        return make_deam_unzipped(root, ids, {"static_annotations_averaged_songs_1_2000.csv": text}, sources)
    if dataset == "manifest":
        rows = []
        for i, (s, v, a) in enumerate(relabelled(songs, 0, 100)):
            target = root / "music" / f"album{i % 5}" / f"track{s}.mp3"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(sources[s], target)
            rows.append((f"music/album{i % 5}/track{s}.mp3", v, a, f"artist {i % 8}"))
        return write_manifest(root / "manifest.csv", "path,valence,arousal,group", rows)
    raise ValueError(dataset)
