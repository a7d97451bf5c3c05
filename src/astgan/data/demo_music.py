"""Procedural music whose valence and arousal drive the sound: the demo dataset's synthesiser.

:func:`render_song` maps a label (DEAM's 1..9 scale) to one song:

- arousal -> tempo, note density, loudness, brightness (harmonic roll-off) and drums;
- valence -> major/minor mode, register, roughness (a detuned beating copy of the chords),
  dissonant clusters at low valence and octave-doubled consonant triads at high valence.

Every song also gets its own key, timbre, reverb and background noise from its random generator,
and the sound follows a noisy copy of the label, so the mapping is learnable but not trivial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft

DRIVE_NOISE = 0.3  # sd of the noisy copy of the label that drives the sound (1..9 scale)

MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])  # natural minor
# Chord progressions as 0-based scale degrees, one chord a bar (I-IV-V-I, I-vi-IV-V, ...).
PROGRESSIONS = [[0, 3, 4, 0], [0, 5, 3, 4], [0, 4, 5, 3], [0, 3, 0, 4], [5, 3, 0, 4], [0, 2, 3, 4]]
TABLE_SIZE = 4096  # samples in one period of a wavetable; a power of two for a cheap modulo
MAX_HARMONICS = 16


@dataclass(frozen=True)
class SongParams:
    """Every musical choice of one song."""

    # driven by arousal
    tempo: float  # beats per minute
    note_prob: float  # chance of a melody note on each 8th note (note density)
    split_prob: float  # chance an 8th note splits into two 16ths
    restrike_prob: float  # chance the chord is struck again on a beat
    rolloff: float  # harmonic amplitude ~ k ** -rolloff: low is bright
    loudness_db: float  # RMS of the mix, dBFS
    drums: float  # drum level 0..1 (parts appear as it rises)
    # driven by valence
    major: bool  # mode
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


def _draw_song_params(valence: float, arousal: float, rng: np.random.Generator) -> SongParams:
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
        register=float(62.0 + 7.0 * zv + rng.normal(0.0, 0.7)),
        detune_cents=40.0 * _sigmoid(-2.5 * zv - 0.5),
        rough_amp=_sigmoid(-2.5 * zv - 0.5),
        cluster_prob=_sigmoid(-3.0 * zv - 1.0),
        open_prob=_sigmoid(3.0 * zv - 1.0),
        tonic=int(rng.integers(0, 12)),
        decay=float(np.exp(rng.uniform(np.log(0.25), np.log(1.5)))),
        reverb_seconds=float(rng.uniform(0.3, 1.5)),
        reverb_mix=float(rng.uniform(0.05, 0.35)),
        noise_db=float(rng.uniform(-50.0, -30.0)),
    )


def render_song(valence: float, arousal: float, seconds: float, sample_rate: int, channels: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Synthesise one song for a label; float32 audio of shape (samples, channels) in -1..1."""
    params = _draw_song_params(valence, arousal, rng)
    n = int(round(seconds * sample_rate))
    buses = _render_buses(params, n, sample_rate, rng)
    mix = _mix_down(buses, channels, rng)
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
    melody_degree = int(rng.integers(0, 5))  # the melody walks on scale degrees 0..7
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

    Voicing every chord tone into the octave around the register keeps the register a valence
    cue whatever the key. A fourth tone is added, often at the extremes: a minor 2nd or tritone
    above the root (dissonant) at low valence, the root an octave up (consonant) at high valence.
    """
    root = params.tonic + scale[degree % 7]
    tones = [root, params.tonic + scale[(degree + 2) % 7], params.tonic + scale[(degree + 4) % 7]]
    pitches = [_place(tone, params.register) for tone in tones]
    if rng.random() < params.cluster_prob:
        pitches.append(_place(root + (1 if rng.random() < 0.5 else 6), params.register))
    elif rng.random() < params.open_prob:
        pitches.append(pitches[0] + 12.0)  # consonant: the root doubled an octave up
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
    amplitude modulation on every harmonic): roughness, a low-valence cue the log-mel sees over
    time. Notes ring 0.25 s past their length, so ``bus`` gets ``length_s + 0.25`` s at most.
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
    """Add one bar of melody to ``bus`` (in place); returns the degree it ended on.

    8th notes, some split into 16ths, on a random walk over scale degrees 0..7 counted from a
    tonic near the top of the chords, so the melody moves with the register (valence).
    """
    melody_tonic = _place(params.tonic, params.register + 7.0)
    for slot in range(8):
        if rng.random() >= params.note_prob:
            continue
        pieces = 2 if rng.random() < params.split_prob else 1
        for piece in range(pieces):
            degree = int(np.clip(degree + rng.integers(-2, 3), 0, 7))
            pitch = melody_tonic + 12 * (degree // 7) + scale[degree % 7]
            onset = bar_start + (slot + piece / pieces) * beat / 2
            _add_notes(bus, bank, [pitch], onset, beat / 2 / pieces, 0.3, params, sr, rng, rough=False)
    return degree


def _drum_sounds(sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One kick, snare and hi-hat sample for the song: decaying sine sweep and noise bursts."""
    def time_axis(seconds: float) -> np.ndarray:
        return np.arange(int(seconds * sr)) / sr

    t = time_axis(0.3)
    kick_freq = 45.0 + 110.0 * np.exp(-t / 0.03)
    kick = np.sin(2 * np.pi * np.cumsum(kick_freq) / sr) * np.exp(-t / 0.12)
    t = time_axis(0.2)
    rattle = np.diff(rng.normal(0, 1, len(t) + 1)) * np.exp(-t / 0.06)  # differenced: bright noise
    snare = 0.5 * rattle + 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.04)
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
    """Set the loudness (an arousal cue), add background noise and keep peaks below 1."""
    rms = np.sqrt(np.mean(mix ** 2)) + 1e-12
    mix = mix * (10.0 ** (params.loudness_db / 20.0) / rms)
    mix = mix + _background_noise(mix.shape, params.loudness_db + params.noise_db, sr, rng)
    if np.max(np.abs(mix)) > 0.95:  # loud songs: soft-clip the peaks rather than turn the song down
        mix = 0.95 * np.tanh(mix / 0.95)
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
