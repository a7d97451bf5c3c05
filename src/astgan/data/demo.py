"""The embedded demo dataset: procedural music in exactly DEAM's folder layout.

No DEAM download is reachable on a fresh machine, so :func:`write_demo_dataset` writes a small
folder that the DEAM loader reads unchanged::

    <out>/DEAM_audio/MEMD_audio/<song_id>.mp3
    <out>/DEAM_Annotations/annotations/annotations averaged per song/song_level/
        static_annotations_averaged_songs_1_2000.csv      (5 columns, ids from 2)
        static_annotations_averaged_songs_2000_2058.csv   (13 columns, ids from 2001)

The labels are drawn like DEAM's (resampled real label pairs plus a small jitter) and they really
drive the sound, so a model trained on the demo learns something measurable:

- arousal -> tempo, note density, loudness, brightness (harmonic roll-off) and drums;
- valence -> major/minor mode, register (about 22 semitones across the 1..9 scale), roughness
  (a detuned beating copy of the chords) and dissonant clusters (added minor 2nd or tritone).
  Mode alone is nearly invisible to a 16 kHz log-mel in a low register; the other three cues
  change the spectral envelope, which is what the features see.

Every song also gets its own key, timbre, reverb, background noise and a slightly noisy copy of
its label to drive the sound, so the mapping is learnable but not trivial.

Everything is deterministic by ``seed``: labels, file formats and every synthesis parameter come
from one :class:`numpy.random.SeedSequence`, independent of the number of worker processes.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from scipy.signal import fftconvolve, lfilter
from tqdm import tqdm

from astgan.errors import AstganError
from astgan.runtime import atomic_path

# --------------------------------------------------------------------------- layout (as DEAM)

AUDIO_DIR = Path("DEAM_audio", "MEMD_audio")
ANNOTATION_DIR = Path("DEAM_Annotations", "annotations", "annotations averaged per song", "song_level")
ANNOTATIONS_2013 = "static_annotations_averaged_songs_1_2000.csv"
ANNOTATIONS_2015 = "static_annotations_averaged_songs_2000_2058.csv"
# A file beside the DEAM folders that marks a folder as ours, so a rerun may replace it but a
# real DEAM copy is never overwritten by mistake.
MARKER = "astgan_demo.json"

# Headers exactly as in the real files: leading spaces, and the 2015 typo "valence_ max_mean".
HEADER_2013 = "song_id, valence_mean, valence_std, arousal_mean, arousal_std"
HEADER_2015 = (
    "song_id, valence_mean, valence_std, valence_ max_mean, valence_max_std, valence_min_mean, "
    "valence_min_std, arousal_mean, arousal_std, arousal_max_mean, arousal_max_std, "
    "arousal_min_mean, arousal_min_std"
)
FIRST_ID_2013 = 2  # DEAM's ids start at 2
FIRST_ID_2015 = 2001
MAX_SONGS_2013 = 2000 - FIRST_ID_2013 + 1

# Share of songs in the 2015 file and the quirky formats, roughly as in DEAM (58 of 1,802 songs).
SHARE_2015 = 0.05
SHARE_STEREO = 0.10
SHARE_48K = 0.07
SHARE_22K = 0.07
SAMPLE_RATE = 44_100

LABEL_JITTER = 0.15  # sd added to resampled DEAM label pairs (1..9 scale)
DRIVE_NOISE = 0.3  # sd of the noisy copy of the label that drives the sound (1..9 scale)


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`write_demo_dataset` wrote."""

    out_dir: Path
    n_songs: int
    audio_seconds: float  # total duration of all songs
    wall_seconds: float  # time the whole call took
    seed: int
    sample_rates: dict[int, int] = field(default_factory=dict)  # sample rate -> number of songs
    n_stereo: int = 0


@dataclass(frozen=True)
class SongJob:
    """One song to render: its label, file format and the seed of its own random stream."""

    song_id: int
    valence: float  # label on 1..9
    arousal: float  # label on 1..9
    seconds: float
    sample_rate: int
    channels: int
    seed: np.random.SeedSequence
    path: Path


# --------------------------------------------------------------------------- public API


def write_demo_dataset(
    out_dir: str | Path,
    n_songs: int = 120,
    seed: int = 0,
    min_seconds: float = 15.0,
    max_seconds: float = 45.0,
    num_workers: int = 2,
    progress: bool = True,
) -> DemoSummary:
    """Write ``n_songs`` procedural songs and their labels into ``out_dir`` in DEAM's layout.

    Songs last uniform(``min_seconds``, ``max_seconds``) seconds; about 5 % go to the 2015
    annotation file (ids from 2001), the rest to the 2013 file (ids from 2). Audio is MP3, mostly
    44.1 kHz mono, with a few stereo, 48 kHz and 22.05 kHz files like DEAM. ``num_workers``
    processes render and encode in parallel (0 or 1: in this process). Every file is written
    atomically; rerunning into a demo folder replaces it, songs it no longer has included.
    """
    start = time.perf_counter()
    out_dir = Path(out_dir)
    _check_arguments(n_songs, min_seconds, max_seconds, num_workers)
    _check_target(out_dir)

    label_seed, *song_seeds = np.random.SeedSequence(seed).spawn(n_songs + 1)
    rng = np.random.default_rng(label_seed)
    table = _draw_song_table(n_songs, min_seconds, max_seconds, rng)
    jobs = [
        SongJob(int(row.song_id), float(row.valence_mean), float(row.arousal_mean), float(row.seconds),
                int(row.sample_rate), int(row.channels), song_seed,
                out_dir / AUDIO_DIR / f"{int(row.song_id)}.mp3")
        for row, song_seed in zip(table.itertuples(), song_seeds)
    ]

    _remove_stale_audio(out_dir / AUDIO_DIR, keep={job.path.name for job in jobs})
    _run_jobs(jobs, num_workers, progress)
    _write_annotations(out_dir, table, rng)
    _write_bytes(out_dir / MARKER, (json.dumps({"generator": "astgan.data.demo", "seed": seed,
                                                "n_songs": n_songs}, indent=2) + "\n").encode())

    return DemoSummary(
        out_dir=out_dir,
        n_songs=n_songs,
        audio_seconds=float(table["seconds"].sum()),
        wall_seconds=time.perf_counter() - start,
        seed=seed,
        sample_rates={int(k): int(v) for k, v in table["sample_rate"].value_counts().sort_index().items()},
        n_stereo=int((table["channels"] == 2).sum()),
    )


def read_demo_labels(out_dir: str | Path) -> pd.DataFrame:
    """The labels of a demo folder: columns song_id, valence, arousal (1..9), path; for tests.

    The pipeline itself reads a demo folder with the DEAM loader, exactly like real DEAM.
    """
    out_dir = Path(out_dir)
    frames = []
    for name in (ANNOTATIONS_2013, ANNOTATIONS_2015):
        frame = pd.read_csv(out_dir / ANNOTATION_DIR / name, skipinitialspace=True)
        frames.append(frame[["song_id", "valence_mean", "arousal_mean"]])
    labels = pd.concat(frames, ignore_index=True).rename(
        columns={"valence_mean": "valence", "arousal_mean": "arousal"})
    labels["path"] = [out_dir / AUDIO_DIR / f"{song_id}.mp3" for song_id in labels["song_id"]]
    return labels


# --------------------------------------------------------------------------- checks and files


def _check_arguments(n_songs: int, min_seconds: float, max_seconds: float, num_workers: int) -> None:
    if not 1 <= n_songs <= MAX_SONGS_2013:
        raise AstganError(f"n_songs must be between 1 and {MAX_SONGS_2013}, got {n_songs}")
    if not 1.0 <= min_seconds <= max_seconds:
        raise AstganError(f"need 1 <= min_seconds <= max_seconds, got {min_seconds} and {max_seconds}")
    if num_workers < 0:
        raise AstganError(f"num_workers must be 0 or more, got {num_workers}")


def _check_target(out_dir: Path) -> None:
    """Refuse to write over a DEAM folder that this generator did not write."""
    has_deam = (out_dir / AUDIO_DIR).exists() or (out_dir / ANNOTATION_DIR).exists()
    if has_deam and not (out_dir / MARKER).exists():
        raise AstganError(
            f"{out_dir} already holds a DEAM-like folder that is not an astgan demo (no {MARKER}); "
            "choose an empty or new folder for the demo data")


def _remove_stale_audio(audio_dir: Path, keep: set[str]) -> None:
    """Delete songs of an earlier, larger demo run and temp files left by a killed run."""
    if not audio_dir.is_dir():
        return
    for path in audio_dir.iterdir():
        stale_song = path.suffix == ".mp3" and path.stem.isdigit() and path.name not in keep
        stale_temp = path.name.startswith(".") and path.name.endswith(".tmp")
        if stale_song or stale_temp:
            path.unlink(missing_ok=True)


def _write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


# --------------------------------------------------------------------------- labels and annotations


def load_deam_label_pairs() -> np.ndarray:
    """The 1,802 real DEAM (valence, arousal) pairs on 1..9, shape (1802, 2)."""
    resource = importlib.resources.files("astgan.data") / "resources" / "deam_static_labels.csv"
    with resource.open("r") as handle:
        return pd.read_csv(handle)[["valence", "arousal"]].to_numpy(dtype=float)


def _draw_song_table(n_songs: int, min_seconds: float, max_seconds: float,
                     rng: np.random.Generator) -> pd.DataFrame:
    """One row per song: song_id, valence_mean, arousal_mean (1..9, 1 decimal), seconds, format.

    Label pairs are resampled from real DEAM with replacement, so their spread, rarity of
    extremes and valence-arousal correlation (r 0.57) are DEAM's.
    """
    pairs = load_deam_label_pairs()
    picked = pairs[rng.integers(0, len(pairs), n_songs)] + rng.normal(0.0, LABEL_JITTER, (n_songs, 2))
    labels = np.round(np.clip(picked, 1.0, 9.0), 1)

    n_2015 = int(round(SHARE_2015 * n_songs)) if n_songs >= 2 else 0
    n_2015 = max(n_2015, 1) if n_songs >= 2 else 0
    n_2013 = n_songs - n_2015
    song_ids = np.concatenate([FIRST_ID_2013 + np.arange(n_2013), FIRST_ID_2015 + np.arange(n_2015)])

    draw = rng.random(n_songs)
    sample_rate = np.where(draw < SHARE_48K, 48_000, np.where(draw < SHARE_48K + SHARE_22K, 22_050, SAMPLE_RATE))
    channels = np.where(rng.random(n_songs) < SHARE_STEREO, 2, 1)
    seconds = np.round(rng.uniform(min_seconds, max_seconds, n_songs), 2)
    return pd.DataFrame({
        "song_id": song_ids, "valence_mean": labels[:, 0], "arousal_mean": labels[:, 1],
        "seconds": seconds, "sample_rate": sample_rate, "channels": channels,
    })


def _fmt_2013(value: float) -> str:
    """Numbers as in the 2013 file: shortest form, no trailing zeros (``3`` not ``3.0``)."""
    return f"{value:g}"


def _fmt_2015(value: float) -> str:
    """Numbers as in the 2015 file: Python float text (``5.0``, ``0.98``)."""
    return repr(float(value))


def _write_annotations(out_dir: Path, table: pd.DataFrame, rng: np.random.Generator) -> None:
    """Write both static annotation files with DEAM's headers and CRLF line endings.

    The rater spread columns (std, and in 2015 the max/min of the per-second ratings) are not
    used by astgan; they get plausible values so the files look and parse like the real ones.
    """
    folder = out_dir / ANNOTATION_DIR
    is_2015 = table["song_id"].to_numpy() >= FIRST_ID_2015

    lines = [HEADER_2013]
    for row in table[~is_2015].itertuples():
        v_std, a_std = rng.uniform(0.5, 2.0, 2).round(2)
        lines.append(",".join([str(row.song_id), _fmt_2013(row.valence_mean), _fmt_2013(v_std),
                               _fmt_2013(row.arousal_mean), _fmt_2013(a_std)]))
    _write_bytes(folder / ANNOTATIONS_2013, ("\r\n".join(lines) + "\r\n").encode())

    lines = [HEADER_2015]
    for row in table[is_2015].itertuples():
        cells = [str(row.song_id)]
        for mean in (row.valence_mean, row.arousal_mean):
            std = rng.uniform(0.5, 2.0)
            high = min(9.0, mean + rng.uniform(0.8, 2.5))
            low = max(1.0, mean - rng.uniform(0.8, 2.5))
            cells += [_fmt_2015(round(mean, 1)), _fmt_2015(round(std, 2)),
                      _fmt_2015(round(high, 1)), _fmt_2015(round(rng.uniform(0.4, 1.5), 2)),
                      _fmt_2015(round(low, 1)), _fmt_2015(round(rng.uniform(0.4, 1.5), 2))]
        lines.append(",".join(cells))
    _write_bytes(folder / ANNOTATIONS_2015, ("\r\n".join(lines) + "\r\n").encode())


# --------------------------------------------------------------------------- running the songs


def _run_jobs(jobs: list[SongJob], num_workers: int, progress: bool) -> None:
    """Render and write every song, in ``num_workers`` processes when more than one."""
    # Longest songs first: the last jobs to finish are then short, so workers end together.
    ordered = sorted(jobs, key=lambda job: -job.seconds)
    with tqdm(total=len(jobs), desc="demo songs", unit="song", disable=not progress) as bar:
        if num_workers <= 1:
            for job in ordered:
                write_song(job)
                bar.update()
            return
        with ProcessPoolExecutor(max_workers=num_workers) as pool:
            futures = [pool.submit(write_song, job) for job in ordered]
            try:
                for future in as_completed(futures):
                    future.result()
                    bar.update()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise


def write_song(job: SongJob) -> Path:
    """Render one song and write it as MP3, atomically; returns its path."""
    audio = render_song(job.valence, job.arousal, job.seconds, job.sample_rate, job.channels,
                        np.random.default_rng(job.seed))
    with atomic_path(job.path) as tmp:
        # The temp name does not end in .mp3, so the format is named explicitly.
        sf.write(tmp, audio, job.sample_rate, format="MP3")
    return job.path


# --------------------------------------------------------------------------- synthesis

MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])  # natural minor
# Chord progressions as 0-based scale degrees, one chord a bar (I-IV-V-I, I-vi-IV-V, ...).
PROGRESSIONS = [[0, 3, 4, 0], [0, 5, 3, 4], [0, 4, 5, 3], [0, 3, 0, 4], [5, 3, 0, 4], [0, 2, 3, 4]]
TABLE_SIZE = 4096  # samples in one period of a wavetable; a power of two for a cheap modulo
MAX_HARMONICS = 16


@dataclass(frozen=True)
class SongParams:
    """Every musical choice of one song; what valence and arousal drive is marked."""

    tempo: float  # beats per minute                              <- arousal
    note_prob: float  # chance of a melody note on each 8th note  <- arousal
    split_prob: float  # chance an 8th note splits into two 16ths <- arousal
    restrike_prob: float  # chance the chord is struck again on a beat <- arousal
    rolloff: float  # harmonic amplitude ~ k ** -rolloff (brightness) <- arousal
    loudness_db: float  # RMS of the mix in dBFS                  <- arousal
    drums: float  # drum level 0..1                              <- arousal
    major: bool  # mode                                           <- valence
    register: float  # MIDI pitch at the centre of the chords     <- valence
    detune_cents: float  # detune of the beating chord copy        <- valence
    rough_amp: float  # level of the beating chord copy            <- valence
    cluster_prob: float  # chance a chord gets a minor 2nd or tritone <- valence
    tonic: int  # pitch class of the key (random)
    decay: float  # seconds, note decay (random)
    reverb_seconds: float  # reverb tail (random)
    reverb_mix: float  # (random)
    noise_db: float  # background noise relative to the mix (random)


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


def draw_song_params(valence: float, arousal: float, rng: np.random.Generator) -> SongParams:
    """Map a label (1..9) to the musical parameters of one song, with per-song randomness.

    The sound follows a noisy copy of the label (sd ``DRIVE_NOISE``), so even a perfect model
    cannot recover the label exactly, as with real annotations.
    """
    # z is about -2..2 over the 1..9 scale; DEAM labels have sd about 0.6 on it.
    zv = (valence + rng.normal(0.0, DRIVE_NOISE) - 5.0) / 2.0
    za = (arousal + rng.normal(0.0, DRIVE_NOISE) - 5.0) / 2.0
    return SongParams(
        tempo=float(np.clip(100.0 * 2.0 ** (0.45 * za) * rng.uniform(0.93, 1.07), 50.0, 200.0)),
        note_prob=_sigmoid(1.5 * za + 0.3 + rng.normal(0.0, 0.3)),
        split_prob=float(np.clip(0.45 * za + rng.normal(0.0, 0.1), 0.0, 0.8)),
        restrike_prob=_sigmoid(1.8 * za),
        rolloff=float(np.clip(1.9 - 0.6 * za + rng.normal(0.0, 0.15), 0.6, 3.2)),
        loudness_db=float(-23.0 + 5.0 * za + rng.normal(0.0, 1.5)),
        drums=_sigmoid(2.5 * (za + 0.3)),
        major=bool(rng.random() < _sigmoid(2.5 * zv)),
        register=float(62.0 + 5.5 * zv + rng.normal(0.0, 1.0)),
        detune_cents=40.0 * _sigmoid(-2.5 * zv - 0.5),
        rough_amp=0.8 * _sigmoid(-2.5 * zv - 0.5),
        cluster_prob=_sigmoid(-3.0 * zv - 1.0),
        tonic=int(rng.integers(0, 12)),
        decay=float(np.exp(rng.uniform(np.log(0.25), np.log(1.5)))),
        reverb_seconds=float(rng.uniform(0.3, 1.5)),
        reverb_mix=float(rng.uniform(0.05, 0.35)),
        noise_db=float(rng.uniform(-50.0, -30.0)),
    )


def render_song(valence: float, arousal: float, seconds: float, sample_rate: int, channels: int,
                rng: np.random.Generator) -> np.ndarray:
    """Synthesise one song for a label; float32 audio of shape (samples, channels) in -1..1."""
    params = draw_song_params(valence, arousal, rng)
    n = int(round(seconds * sample_rate))
    buses = _render_buses(params, n, sample_rate, rng)
    mix = _mix_down(buses, channels, rng)
    mix = _add_reverb(mix, params, sample_rate, rng)
    return _master(mix, params, rng).astype(np.float32)


def _render_buses(params: SongParams, n: int, sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The mono parts of a song before mixing: name -> samples, shape (n,)."""
    pad_bank = _wavetables(params.rolloff, rng)
    lead_bank = _wavetables(params.rolloff + rng.uniform(-0.3, 0.3), rng)
    bass_bank = _wavetables(params.rolloff + 0.8, rng)
    beat = 60.0 / params.tempo
    scale = MAJOR if params.major else MINOR
    progression = PROGRESSIONS[rng.integers(len(PROGRESSIONS))]
    n_bars = int(np.ceil(n / sr / (4 * beat)))

    pad, bass, lead = np.zeros(n), np.zeros(n), np.zeros(n)
    melody_degree = 7 + int(rng.integers(0, 5))  # a walk on scale degrees above the chords
    for bar in range(n_bars):
        degree = progression[bar % len(progression)]
        chord = _chord_pitches(degree, scale, params, rng)
        bar_start = bar * 4 * beat
        # Chords: held for the bar at low arousal, struck again on beats as arousal rises.
        strikes = [0] + [b for b in (1, 2, 3) if rng.random() < params.restrike_prob]
        for i, b in enumerate(strikes):
            length = ((strikes[i + 1] if i + 1 < len(strikes) else 4) - b) * beat
            _add_chord(pad, pad_bank, chord, bar_start + b * beat, length, 0.25, params, sr, rng)
        bass_pitch = _place(params.tonic + scale[degree % 7], params.register - 19.0)
        for b in (0, 2):
            _add_chord(bass, bass_bank, [bass_pitch], bar_start + b * beat, 2 * beat, 0.5,
                       params, sr, rng, rough=False)
        melody_degree = _add_melody(lead, lead_bank, scale, melody_degree, bar_start, beat, params, sr, rng)

    buses = {"pad": pad, "bass": bass, "lead": lead}
    buses["drums"] = _render_drums(params, n, sr, beat, rng)
    return buses


def _wavetables(rolloff: float, rng: np.random.Generator) -> np.ndarray:
    """Band-limited wavetables of one timbre, shape (MAX_HARMONICS, TABLE_SIZE).

    Row ``k - 1`` holds one period with harmonics 1..k only: a note uses the row whose top
    harmonic stays below Nyquist, so high notes do not alias. A table lookup per sample is far
    cheaper than one sin() per harmonic. Weights ~ k ** -rolloff (brightness) with a random
    per-song tilt of each harmonic (timbre).
    """
    k = np.arange(1, MAX_HARMONICS + 1)
    weights = k ** -rolloff * rng.lognormal(0.0, 0.4, MAX_HARMONICS)
    phase = np.arange(TABLE_SIZE) / TABLE_SIZE
    partials = weights[:, None] * np.sin(2 * np.pi * k[:, None] * phase[None, :] + rng.uniform(0, 2 * np.pi, (MAX_HARMONICS, 1)))
    tables = np.cumsum(partials, axis=0)
    # Unit RMS for every row, so the loudness of a note does not depend on its pitch.
    return tables / np.sqrt(np.mean(tables ** 2, axis=1, keepdims=True))


def _place(pitch_class: float, centre: float) -> float:
    """The MIDI pitch of ``pitch_class`` in the octave around ``centre`` (within +-6 semitones)."""
    return pitch_class + 12.0 * np.round((centre - pitch_class) / 12.0)


def _chord_pitches(degree: int, scale: np.ndarray, params: SongParams, rng: np.random.Generator) -> list[float]:
    """A close triad on ``degree`` voiced around the song's register (MIDI pitches).

    Voicing every chord tone into the octave around the register keeps the register a valence
    cue whatever the key. At low valence a minor 2nd or tritone above the root is added.
    """
    root = params.tonic + scale[degree % 7]
    tones = [root, params.tonic + scale[(degree + 2) % 7], params.tonic + scale[(degree + 4) % 7]]
    if rng.random() < params.cluster_prob:
        tones.append(root + (1 if rng.random() < 0.5 else 6))
    return [_place(tone, params.register) for tone in tones]


def _midi_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def _envelope(n_on: int, n_total: int, decay: float, sr: int) -> np.ndarray:
    """Note envelope, shape (n_total,): 8 ms attack, exponential decay, fast release at note-off."""
    t = np.arange(n_total) / sr
    env = np.exp(-t / decay)
    attack = min(int(0.008 * sr), n_total)
    env[:attack] *= np.linspace(0.0, 1.0, attack, endpoint=False)
    env[n_on:] *= np.exp(-(t[n_on:] - n_on / sr) / 0.05)
    return env


def _oscillator(bank: np.ndarray, freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of a wavetable tone at ``freq`` Hz with a random start phase."""
    harmonics = int(np.clip(0.45 * sr / freq, 1, MAX_HARMONICS))
    step = freq * TABLE_SIZE / sr
    index = (np.arange(n) * step + rng.uniform(0, TABLE_SIZE)).astype(np.int64) & (TABLE_SIZE - 1)
    return bank[harmonics - 1, index]


def _add_chord(bus: np.ndarray, bank: np.ndarray, pitches: list[float], start_s: float, length_s: float,
               gain: float, params: SongParams, sr: int, rng: np.random.Generator, rough: bool = True) -> None:
    """Add notes that start and end together to ``bus`` (in place), with the beating copy.

    The copy detuned by ``detune_cents`` beats against each tone (a few Hz of amplitude
    modulation on every harmonic): roughness, the low-valence cue the log-mel sees over time.
    """
    start = int(start_s * sr)
    if start >= len(bus):
        return
    n_on = int(length_s * sr)
    n_total = min(n_on + int(0.25 * sr), len(bus) - start)
    n_on = min(n_on, n_total)
    tone = np.zeros(n_total)
    ratio = 2.0 ** (params.detune_cents / 1200.0)
    for pitch in pitches:
        freq = _midi_hz(pitch)
        tone += _oscillator(bank, freq, n_total, sr, rng)
        if rough and params.rough_amp > 0.02:
            tone += params.rough_amp * _oscillator(bank, freq * ratio, n_total, sr, rng)
    velocity = gain * rng.uniform(0.8, 1.0)
    bus[start:start + n_total] += velocity * tone * _envelope(n_on, n_total, params.decay, sr)


def _add_melody(bus: np.ndarray, bank: np.ndarray, scale: np.ndarray, degree: int, bar_start: float,
                beat: float, params: SongParams, sr: int, rng: np.random.Generator) -> int:
    """Add one bar of melody (8th and 16th notes, a random walk on the scale); returns the last degree."""
    for slot in range(8):
        if rng.random() >= params.note_prob:
            continue
        pieces = 2 if rng.random() < params.split_prob else 1
        for piece in range(pieces):
            degree = int(np.clip(degree + rng.integers(-2, 3), 5, 13))
            pitch = params.tonic + 12 * (degree // 7) + scale[degree % 7]
            pitch = _place(pitch, params.register + 9.0)  # a sixth above the chords
            onset = bar_start + (slot + piece / pieces) * beat / 2
            _add_chord(bus, bank, [pitch], onset, beat / 2 / pieces, 0.3, params, sr, rng, rough=False)
    return degree


def _drum_sounds(sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One kick, snare and hi-hat sample for the song: decaying sine sweep and noise bursts."""
    def time_axis(seconds: float) -> np.ndarray:
        return np.arange(int(seconds * sr)) / sr

    t = time_axis(0.3)
    kick_freq = 45.0 + 110.0 * np.exp(-t / 0.03)
    kick = np.sin(2 * np.pi * np.cumsum(kick_freq) / sr) * np.exp(-t / 0.12)
    t = time_axis(0.2)
    snare = np.diff(rng.normal(0, 1, len(t) + 1)) * 0.5 * np.exp(-t / 0.06) + 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.04)
    t = time_axis(0.06)
    hat = np.diff(np.diff(rng.normal(0, 1, len(t) + 2))) * 0.25 * np.exp(-t / 0.015)
    return {"kick": kick, "snare": snare, "hat": hat}


def _render_drums(params: SongParams, n: int, sr: int, beat: float, rng: np.random.Generator) -> np.ndarray:
    """Drum bus, shape (n,): kicks on beats 1 and 3, snares on 2 and 4, hats on 8ths or 16ths.

    More parts and louder hits as arousal rises; quiet songs have none.
    """
    bus = np.zeros(n)
    if params.drums < 0.1:
        return bus
    sounds = _drum_sounds(sr, rng)
    hats_per_beat = 4 if params.drums > 0.8 else 2
    pattern = [("kick", 0.0, 1.0), ("kick", 2.0, 1.0), ("snare", 1.0, 0.8), ("snare", 3.0, 0.8)]
    if params.drums > 0.35:
        pattern += [("hat", i / hats_per_beat, 0.5) for i in range(4 * hats_per_beat)]
    if params.drums > 0.9:
        pattern += [("kick", 2.5, 0.8)]
    n_bars = int(np.ceil(n / sr / (4 * beat)))
    for bar in range(n_bars):
        for name, position, gain in pattern:
            start = int((bar * 4 + position) * beat * sr)
            if start >= n:
                continue
            sound = sounds[name][: n - start]
            bus[start:start + len(sound)] += params.drums * gain * rng.uniform(0.7, 1.0) * sound
    return bus


def _mix_down(buses: dict[str, np.ndarray], channels: int, rng: np.random.Generator) -> np.ndarray:
    """Sum the buses into shape (n, channels), each part panned at random in stereo."""
    levels = {"pad": 1.0, "bass": 0.8, "lead": 0.9, "drums": 1.0}
    if channels == 1:
        return sum(levels[name] * bus for name, bus in buses.items())[:, None]
    mix = np.zeros((len(buses["pad"]), 2))
    for name, bus in buses.items():
        pan = rng.uniform(0.2, 0.8)  # 0 left .. 1 right, constant power
        mix += levels[name] * bus[:, None] * np.array([np.cos(pan * np.pi / 2), np.sin(pan * np.pi / 2)])
    return mix


def _add_reverb(mix: np.ndarray, params: SongParams, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Mix in a reverb: convolution with exponentially decaying noise, one per channel."""
    t = np.arange(int(params.reverb_seconds * sr)) / sr
    impulse = rng.normal(0.0, 1.0, (len(t), mix.shape[1])) * np.exp(-t * 6.9 / params.reverb_seconds)[:, None]
    impulse /= np.sqrt(np.sum(impulse ** 2, axis=0, keepdims=True))
    # float32 halves the FFT cost, the largest single cost of the synthesis.
    wet = fftconvolve(mix.astype(np.float32), impulse.astype(np.float32), axes=0)[: len(mix)]
    return (1.0 - params.reverb_mix) * mix + params.reverb_mix * wet


def _master(mix: np.ndarray, params: SongParams, rng: np.random.Generator) -> np.ndarray:
    """Set the loudness (an arousal cue), add background noise and keep peaks below 1."""
    rms = np.sqrt(np.mean(mix ** 2)) + 1e-12
    mix = mix * (10.0 ** (params.loudness_db / 20.0) / rms)
    # Softly low-passed noise (hiss plus rumble), at a random level below the music.
    noise = rng.normal(0.0, 1.0, mix.shape)
    noise = 0.5 * noise + lfilter([0.05], [1.0, -0.95], noise, axis=0)
    noise *= 10.0 ** ((params.loudness_db + params.noise_db) / 20.0) / (np.sqrt(np.mean(noise ** 2)) + 1e-12)
    mix = mix + noise
    peak = np.max(np.abs(mix))
    if peak > 0.95:  # loud songs: soft-clip the peaks rather than turn the whole song down
        mix = 0.95 * np.tanh(mix / 0.95)
    return mix
