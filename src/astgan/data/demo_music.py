"""Procedural music whose valence and arousal drive the sound: the demo dataset's synthesiser.

:func:`render_song` maps a label (DEAM's 1..9 scale) to one song. The design aims at DEAM-like
difficulty: each dimension drives several weak cues, many of them in the *time structure* of the
sound (onsets, rhythm, articulation, melodic direction, beating), while the spectral envelope
(loudness, brightness, register) is mostly set by a song-level style unrelated to the label. A
linear model on per-band mean and std therefore sees the label only dimly; a model that reads
the spectrogram over time can find more.

Label noise, as in DEAM's averaged ratings: the written label is what 5..10 raters averaged, and
the sound follows the song's "true" emotion, the label plus N(0, s) with s = rater sd (1.0..1.5)
/ sqrt(number of raters), so s is 0.3..0.7 (about 0.45 on average) on the 1..9 scale.

Cues, with ``z = (true value - 5) / 2`` (DEAM's labels give z an sd of about 0.6); "sd" is the
song-level style spread of the same quantity, drawn independently of the label:

- arousal, time structure: tempo x 2 ** (0.4 z) (sd 0.12 octave, plus the genre's tempo),
  melody note density logit + 1.5 z (sd 0.3), 16th-note splits + 0.4 z, chord restrikes on the
  beats logit + 1.8 z (sd 0.3), articulation (notes held 0.75 - 0.3 z of their slot: staccato
  when aroused), drum pattern (a sigmoid of 2.5 (z + 0.2) with thresholds: no drums at the
  calmest, then kick and snare, 8th then 16th hi-hats, an extra kick);
  envelope, weak against style: loudness + 2 dB per z (sd 4 dB), drum level + 2 dB per z
  (sd 3 dB), harmonic roll-off - 0.2 per z (sd 0.4);
- valence, time structure and harmony: major vs minor (chance sigmoid(3 z)), melodic direction
  (a phrase rises with chance sigmoid(3 z), else falls, over the same pitches), roughness (a copy
  of the chords detuned by up to 40 cents, beating a few times a second, mostly at low valence),
  dissonant clusters (an added minor 2nd or tritone, chance sigmoid(-3.5 z - 0.7)), open
  consonant voicings (root doubled an octave up, chance sigmoid(3.5 z - 0.7));
  envelope, weak against style: register + 5 semitones per z (sd 3.5 semitones).

Styles: a genre (ambient, folk, pop, rock, electronic; equally likely) sets the tempo centre
(72..124 bpm), note density, note decay, reverb, drum kit and pattern family (brushes, none,
backbeat, four on the floor), and offsets of loudness (-3..+3 dB), brightness and register
(-3..+3 semitones); every song then draws its own offsets (the sds above), key, timbre (harmonic
weights), panning and background noise. Each part (pads, bass, melody, drums) is mixed at a set
RMS level, so how busy it is shows in its time structure rather than in its share of the spectrum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft

# Label noise: the sound follows the label plus N(0, rater sd / sqrt(raters)).
RATER_SD = (1.0, 1.5)  # range of the per-song sd of single ratings (1..9 scale), as in DEAM
N_RATERS = (5, 10)  # range of the number of raters a song's label averages

MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])  # natural minor
# Chord progressions as 0-based scale degrees, one chord a bar (I-IV-V-I, I-vi-IV-V, ...).
PROGRESSIONS = [[0, 3, 4, 0], [0, 5, 3, 4], [0, 4, 5, 3], [0, 3, 0, 4], [5, 3, 0, 4], [0, 2, 3, 4]]
TABLE_SIZE = 4096  # samples in one period of a wavetable; a power of two for a cheap modulo
MAX_HARMONICS = 16
PEAK = 0.8  # soft-clip level of the master
MELODY_DEGREES = 11  # the melody moves over scale degrees 0..11 (about an octave and a half)


@dataclass(frozen=True)
class Genre:
    """A style preset: what a genre does to the sound, whatever the label."""

    name: str
    tempo: float  # beats per minute at neutral arousal
    density: float  # offset of the melody note density logit
    loudness_db: float  # offset of the mix loudness
    rolloff: float  # offset of the harmonic roll-off (positive: darker)
    register: float  # offset of the register, semitones
    decay: tuple[float, float]  # range of note decay, seconds
    reverb_seconds: tuple[float, float]
    reverb_mix: tuple[float, float]
    kit: str  # drum pattern family: "none", "brushes", "backbeat" or "four"
    drum_db: float  # offset of the drum level


# Columns: name, tempo, density, loudness dB, roll-off, register, decay s, reverb s, reverb mix, kit, drum dB.
GENRES = (
    Genre("ambient", 72.0, -0.8, -3.0, 0.4, -2.0, (1.0, 2.5), (1.2, 2.5), (0.25, 0.4), "brushes", -6.0),
    Genre("folk", 90.0, 0.3, -1.0, 0.2, 1.0, (0.2, 0.5), (0.3, 1.0), (0.05, 0.2), "none", 0.0),
    Genre("pop", 104.0, 0.0, 0.0, 0.0, 0.0, (0.3, 1.0), (0.5, 1.5), (0.1, 0.3), "backbeat", 0.0),
    Genre("rock", 118.0, 0.2, 3.0, -0.3, -3.0, (0.4, 1.2), (0.4, 1.2), (0.05, 0.2), "backbeat", 2.0),
    Genre("electronic", 124.0, 0.4, 2.0, -0.4, 3.0, (0.15, 0.6), (0.8, 2.0), (0.1, 0.3), "four", 2.0),
)


@dataclass(frozen=True)
class SongParams:
    """Every musical choice of one song."""

    genre: Genre
    # driven by arousal (and style)
    tempo: float  # beats per minute
    note_prob: float  # chance of a melody note on each 8th note (note density)
    split_prob: float  # chance an 8th note splits into two 16ths
    restrike_prob: float  # chance the chord is struck again on a beat
    gate: float  # share of its slot a melody note is held: low is staccato
    busy: float  # drum pattern 0..1 (parts appear as it rises)
    drum_db: float  # drum level relative to the tonal parts
    rolloff: float  # harmonic amplitude ~ k ** -rolloff: low is bright
    loudness_db: float  # RMS of the mix, dBFS
    # driven by valence (and style)
    major: bool  # mode
    up_prob: float  # chance a melodic phrase rises rather than falls
    register: float  # MIDI pitch at the centre of the chords
    detune_cents: float  # detune of the beating copy of the chords (roughness)
    rough_amp: float  # level of that copy
    cluster_prob: float  # chance a chord gets a minor 2nd or tritone
    open_prob: float  # chance a chord gets its root doubled an octave up
    # random per song
    tonic: int  # pitch class of the key
    decay: float  # seconds, note decay
    reverb_seconds: float  # reverb tail
    reverb_mix: float  # share of reverb in the mix
    noise_db: float  # background noise relative to the mix


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


def _true_emotion(valence: float, arousal: float, rng: np.random.Generator) -> tuple[float, float]:
    """The (valence, arousal) the sound follows: the label plus rater-averaging noise (1..9)."""
    n_raters = rng.integers(N_RATERS[0], N_RATERS[1] + 1)
    noise_sd = rng.uniform(*RATER_SD, size=2) / np.sqrt(n_raters)
    v, a = np.array([valence, arousal]) + rng.normal(0.0, noise_sd)
    return float(v), float(a)


def _draw_song_params(valence: float, arousal: float, rng: np.random.Generator) -> SongParams:
    """Map a label (1..9) to the musical parameters of one song: label cues plus style.

    For everything the spectral envelope shows (loudness, brightness, register) the label moves
    the sound less than the style does; time-structure cues get the larger label coefficients.
    """
    v, a = _true_emotion(valence, arousal, rng)
    zv, za = (v - 5.0) / 2.0, (a - 5.0) / 2.0
    genre = GENRES[rng.integers(len(GENRES))]
    return SongParams(
        genre=genre,
        tempo=float(np.clip(genre.tempo * 2.0 ** (0.4 * za + rng.normal(0.0, 0.12)), 50.0, 200.0)),
        note_prob=_sigmoid(1.5 * za + genre.density + rng.normal(0.0, 0.3)),
        split_prob=float(np.clip(0.4 * za + 0.1 + rng.normal(0.0, 0.1), 0.0, 0.8)),
        restrike_prob=_sigmoid(1.8 * za + rng.normal(0.0, 0.3)),
        gate=float(np.clip(0.75 - 0.3 * za + rng.normal(0.0, 0.08), 0.3, 1.0)),
        busy=_sigmoid(2.5 * (za + 0.2) + rng.normal(0.0, 0.3)),
        drum_db=float(genre.drum_db + 2.0 * za + rng.normal(0.0, 3.0)),
        rolloff=float(np.clip(1.9 + genre.rolloff - 0.2 * za + rng.normal(0.0, 0.4), 0.6, 3.2)),
        # Clipped: louder songs would saturate and the MP3 encoder's overshoot would pass 1.0.
        loudness_db=float(np.clip(-23.0 + genre.loudness_db + 2.0 * za + rng.normal(0.0, 4.0), -36.0, -14.0)),
        major=bool(rng.random() < _sigmoid(3.0 * zv)),
        up_prob=_sigmoid(3.0 * zv),
        register=float(62.0 + genre.register + 5.0 * zv + rng.normal(0.0, 3.5)),
        detune_cents=40.0 * _sigmoid(-3.0 * zv - 0.3),
        rough_amp=_sigmoid(-3.0 * zv - 0.3),
        cluster_prob=_sigmoid(-3.5 * zv - 0.7),
        open_prob=_sigmoid(3.5 * zv - 0.7),
        tonic=int(rng.integers(0, 12)),
        decay=float(np.exp(rng.uniform(*np.log(genre.decay)))),
        reverb_seconds=float(rng.uniform(*genre.reverb_seconds)),
        reverb_mix=float(rng.uniform(*genre.reverb_mix)),
        noise_db=float(rng.uniform(-50.0, -30.0)),
    )


def render_song(valence: float, arousal: float, seconds: float, sample_rate: int, channels: int,
                rng: np.random.Generator) -> np.ndarray:
    """Synthesise one song for a label; float32 audio of shape (samples, channels) in -1..1."""
    params = _draw_song_params(valence, arousal, rng)
    n = int(round(seconds * sample_rate))
    buses = _render_buses(params, n, sample_rate, rng)
    mix = _mix_down(buses, channels, params, rng)
    mix = _add_reverb(mix, params, sample_rate, rng)
    return _master(mix, params, sample_rate, rng).astype(np.float32)


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
    for bar in range(n_bars):
        degree = progression[bar % len(progression)]
        chord = _chord_pitches(degree, scale, params, rng)
        bar_start = bar * 4 * beat
        # Chords: held for the bar at low arousal, struck again on beats as arousal rises.
        strikes = [0] + [b for b in (1, 2, 3) if rng.random() < params.restrike_prob]
        for i, b in enumerate(strikes):
            length = ((strikes[i + 1] if i + 1 < len(strikes) else 4) - b) * beat
            _add_notes(pad, pad_bank, chord, bar_start + b * beat, length, 0.25, params, sr, rng)
        bass_pitch = _place(params.tonic + scale[degree % 7], params.register - 19.0)
        for b in (0, 2):
            _add_notes(bass, bass_bank, [bass_pitch], bar_start + b * beat, 2 * beat, 0.5,
                       params, sr, rng, rough=False)
        _add_melody(lead, lead_bank, scale, bar_start, beat, params, sr, rng)

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
    offsets = rng.uniform(0, 2 * np.pi, (MAX_HARMONICS, 1))
    partials = weights[:, None] * np.sin(2 * np.pi * k[:, None] * phase[None, :] + offsets)
    tables = np.cumsum(partials, axis=0)
    # Unit RMS for every row, so the loudness of a note does not depend on its pitch.
    return tables / np.sqrt(np.mean(tables ** 2, axis=1, keepdims=True))


def _place(pitch_class: float, centre: float) -> float:
    """The MIDI pitch of ``pitch_class`` in the octave around ``centre`` (within +-6 semitones)."""
    return pitch_class + 12.0 * np.round((centre - pitch_class) / 12.0)


def _chord_pitches(degree: int, scale: np.ndarray, params: SongParams, rng: np.random.Generator) -> list[float]:
    """A close triad on ``degree`` voiced around the song's register (MIDI pitches).

    A fourth tone is added, often at the extremes: a minor 2nd or tritone above the root
    (dissonant) at low valence, the root an octave up (consonant, open) at high valence.
    """
    root = params.tonic + scale[degree % 7]
    tones = [root, params.tonic + scale[(degree + 2) % 7], params.tonic + scale[(degree + 4) % 7]]
    pitches = [_place(tone, params.register) for tone in tones]
    if rng.random() < params.cluster_prob:
        pitches.append(_place(root + (1 if rng.random() < 0.5 else 6), params.register))
    elif rng.random() < params.open_prob:
        pitches.append(pitches[0] + 12.0)
    return pitches


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


def _add_notes(bus: np.ndarray, bank: np.ndarray, pitches: list[float], start_s: float, length_s: float,
               gain: float, params: SongParams, sr: int, rng: np.random.Generator, rough: bool = True) -> None:
    """Add notes that start and end together to ``bus`` (in place); a chord or a single note.

    With ``rough``, a copy detuned by ``detune_cents`` beats against each tone (a few Hz of
    amplitude modulation on every harmonic): roughness, a low-valence cue that shows over time
    rather than in the average spectrum. Notes ring 0.25 s past their length.
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


def _add_melody(bus: np.ndarray, bank: np.ndarray, scale: np.ndarray, bar_start: float, beat: float,
                params: SongParams, sr: int, rng: np.random.Generator) -> None:
    """Add one bar of melody to ``bus`` (in place): a rising or a falling phrase.

    8th notes (some split into 16ths, some skipped: density) on scale degrees 0..11 counted from a
    tonic above the chords. A rising phrase (chance ``up_prob``: valence) starts low and steps up,
    a falling one starts high and steps down: the same pitches on average, so only the direction
    over time tells them apart. Notes are held for ``gate`` of their slot (articulation: arousal).
    """
    melody_tonic = _place(params.tonic, params.register + 7.0)
    direction = 1 if rng.random() < params.up_prob else -1
    degree = int(rng.integers(0, 3)) if direction > 0 else MELODY_DEGREES - int(rng.integers(0, 3))
    for slot in range(8):
        if rng.random() >= params.note_prob:
            continue
        pieces = 2 if rng.random() < params.split_prob else 1
        for piece in range(pieces):
            pitch = melody_tonic + 12 * (degree // 7) + scale[degree % 7]
            onset = bar_start + (slot + piece / pieces) * beat / 2
            _add_notes(bus, bank, [pitch], onset, params.gate * beat / 2 / pieces, 0.3, params, sr, rng,
                       rough=False)
            # Mostly steps in the phrase's direction, sometimes a step back.
            step = direction * int(rng.choice([1, 1, 2, -1]))
            degree = int(np.clip(degree + step, 0, MELODY_DEGREES))


def _drum_sounds(sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One kick, snare, hi-hat and brush sample for the song: sine sweeps and noise bursts."""
    def time_axis(seconds: float) -> np.ndarray:
        return np.arange(int(seconds * sr)) / sr

    t = time_axis(0.3)
    kick_freq = rng.uniform(40.0, 55.0) + rng.uniform(80.0, 140.0) * np.exp(-t / 0.03)
    kick = np.sin(2 * np.pi * np.cumsum(kick_freq) / sr) * np.exp(-t / rng.uniform(0.08, 0.16))
    t = time_axis(0.2)
    rattle = np.diff(rng.normal(0, 1, len(t) + 1)) * np.exp(-t / 0.06)  # differenced: bright noise
    snare = 0.5 * rattle + 0.5 * np.sin(2 * np.pi * rng.uniform(160, 230) * t) * np.exp(-t / 0.04)
    t = time_axis(0.06)
    hat = np.diff(np.diff(rng.normal(0, 1, len(t) + 2))) * 0.25 * np.exp(-t / 0.015)
    t = time_axis(0.25)
    brush = rng.normal(0, 1, len(t)) * 0.3 * np.minimum(t / 0.03, 1.0) * np.exp(-t / 0.08)  # soft swish
    return {"kick": kick, "snare": snare, "hat": hat, "brush": brush}


def _drum_pattern(kit: str, busy: float) -> list[tuple[str, float, float]]:
    """(sound, position in beats, gain) of one bar for a kit family; more parts as ``busy`` rises.

    Nothing below busy 0.15 (the calmest songs) or for the "none" kit; hi-hats on 8ths above 0.35
    and on 16ths above 0.75; an extra kick above 0.85.
    """
    if kit == "none" or busy < 0.15:
        return []
    hats = 4 if busy > 0.75 else 2 if busy > 0.35 else 0
    hat_hits = [("hat", i / hats, 0.5) for i in range(4 * hats)] if hats else []
    if kit == "brushes":
        return [("brush", 1.0, 0.8), ("brush", 3.0, 0.8)] + [(name, pos, 0.5 * gain) for name, pos, gain in hat_hits]
    if kit == "four":  # four on the floor, claps on 2 and 4, hats off the beat at the calmer end
        pattern = [("kick", float(b), 1.0) for b in range(4)] + [("snare", 1.0, 0.7), ("snare", 3.0, 0.7)]
        if hats == 2:
            hat_hits = [("hat", b + 0.5, 0.5) for b in range(4)]
        return pattern + hat_hits
    pattern = [("kick", 0.0, 1.0), ("kick", 2.0, 1.0), ("snare", 1.0, 0.8), ("snare", 3.0, 0.8)]
    if busy > 0.85:
        pattern.append(("kick", 2.5, 0.8))
    return pattern + hat_hits


def _render_drums(params: SongParams, n: int, sr: int, beat: float, rng: np.random.Generator) -> np.ndarray:
    """Drum bus, shape (n,), at unit level for the pattern of the song's kit and ``busy``."""
    bus = np.zeros(n)
    pattern = _drum_pattern(params.genre.kit, params.busy)
    if not pattern:
        return bus
    sounds = _drum_sounds(sr, rng)
    n_bars = int(np.ceil(n / sr / (4 * beat)))
    for bar in range(n_bars):
        for name, position, gain in pattern:
            start = int((bar * 4 + position) * beat * sr)
            if start >= n:
                continue
            sound = sounds[name][: n - start]
            bus[start:start + len(sound)] += gain * rng.uniform(0.7, 1.0) * sound
    return bus


def _mix_down(buses: dict[str, np.ndarray], channels: int, params: SongParams, rng: np.random.Generator) -> np.ndarray:
    """Sum the buses into shape (n, channels), each part panned at random in stereo.

    Every part is mixed at a set RMS level, so how many notes or hits it has shows in its time
    structure rather than in its share of the spectrum.
    """
    levels = {"pad": 1.0, "bass": 0.8, "lead": 1.2, "drums": 0.6 * 10.0 ** (params.drum_db / 20.0)}
    buses = {name: bus / (np.sqrt(np.mean(bus ** 2)) + 1e-9) for name, bus in buses.items()}
    if channels == 1:
        return sum(levels[name] * bus for name, bus in buses.items())[:, None]
    mix = np.zeros((len(buses["pad"]), 2))
    for name, bus in buses.items():
        pan = rng.uniform(0.2, 0.8)  # 0 left .. 1 right, constant power
        mix += levels[name] * bus[:, None] * np.array([np.cos(pan * np.pi / 2), np.sin(pan * np.pi / 2)])
    return mix


def _add_reverb(mix: np.ndarray, params: SongParams, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Mix in a reverb: convolution with exponentially decaying noise, one per channel.

    The convolution is one FFT product in float32 (the largest single cost of the synthesis);
    scipy.fft rather than scipy.signal, whose import alone takes over a second.
    """
    t = np.arange(int(params.reverb_seconds * sr)) / sr
    decay = np.exp(-6.9 * t / params.reverb_seconds)  # down 60 dB at the end of the tail
    impulse = rng.normal(0.0, 1.0, (len(t), mix.shape[1])) * decay[:, None]
    impulse /= np.sqrt(np.sum(impulse ** 2, axis=0, keepdims=True))
    size = scipy.fft.next_fast_len(len(mix) + len(impulse) - 1, real=True)
    spectrum = scipy.fft.rfft(mix.astype(np.float32), size, axis=0)
    spectrum *= scipy.fft.rfft(impulse.astype(np.float32), size, axis=0)
    wet = scipy.fft.irfft(spectrum, size, axis=0)[: len(mix)]
    return (1.0 - params.reverb_mix) * mix + params.reverb_mix * wet


def _master(mix: np.ndarray, params: SongParams, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Set the loudness, add background noise and keep peaks below 1."""
    rms = np.sqrt(np.mean(mix ** 2)) + 1e-12
    mix = mix * (10.0 ** (params.loudness_db / 20.0) / rms)
    mix = mix + _background_noise(mix.shape, params.loudness_db + params.noise_db, sr, rng)
    # Loud songs: soft-clip the peaks rather than turn the song down, with headroom for the
    # MP3 encoder, whose ringing around saturated peaks can add 20 %.
    if np.max(np.abs(mix)) > PEAK:
        mix = PEAK * np.tanh(mix / PEAK)
    return mix


def _background_noise(shape: tuple[int, ...], level_db: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Noise of RMS ``level_db`` dBFS, shape ``shape``: hiss plus a duller copy (tape and room)."""
    hiss = rng.standard_normal(shape, dtype=np.float32)
    # A 1 ms moving average (a running sum differenced) is a cheap low-pass.
    width = max(1, int(0.001 * sr))
    running = np.cumsum(hiss, axis=0, dtype=np.float64)
    dull = np.zeros_like(hiss)
    dull[width:] = (running[width:] - running[:-width]) / np.sqrt(width)
    noise = 0.5 * hiss + dull
    return noise * (10.0 ** (level_db / 20.0) / (np.sqrt(np.mean(noise ** 2)) + 1e-12))
