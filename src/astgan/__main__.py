"""``python -m astgan`` runs the command-line interface."""

from astgan.cli import main

if __name__ == "__main__":
    main()
