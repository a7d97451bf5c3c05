"""Where a study's units run. An executor takes the units still to do, each with its config as a plain
dict, runs each once the unit it needs (``Unit.after``) is done, and reports every result as it comes.

- :mod:`~astgan.study.executors.local`: this machine, in this process or a pool of worker processes;
- :mod:`~astgan.study.executors.slurm`: SLURM jobs through submitit (what each job runs and the job
  records: :mod:`~astgan.study.executors.tasks`).
"""
