"""``python -m astgan`` runs the command-line interface."""

from astgan.cli import run

if __name__ == "__main__":
    run()
