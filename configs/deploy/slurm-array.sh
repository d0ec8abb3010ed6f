#!/bin/bash
# framescribe batch as a Slurm job array: one array task per shard (configs/deploy/README.md).
# Submit: mkdir -p logs && sbatch configs/deploy/slurm-array.sh /shared/jobs/job.yaml
# Rerun one task (cancelled, failed): sbatch --array=3 configs/deploy/slurm-array.sh /shared/jobs/job.yaml
# Then:   framescribe batch merge /shared/jobs/job.yaml
#SBATCH --job-name=framescribe-batch
#SBATCH --array=0-7%4
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --mem=64G
#SBATCH --time=12:00:00
#SBATCH --output=logs/framescribe-%A_%a.log
#SBATCH --requeue
set -euo pipefail

job_file="${1:?usage: sbatch slurm-array.sh JOB.yaml}"
# The number of shards belongs to the job, not to one submission: it must equal the tasks of
# --array above (0-7: 8), and stays 8 when one task is resubmitted with --array=3 (whose
# SLURM_ARRAY_TASK_COUNT is 1). FRAMESCRIBE_SHARDS=16 sbatch --array=0-15%4 ... changes both.
shards="${FRAMESCRIBE_SHARDS:-8}"
# Shard SLURM_ARRAY_TASK_ID of $shards; a requeued or resubmitted task resumes from its state file.
srun framescribe batch "$job_file" --shard "${SLURM_ARRAY_TASK_ID}/${shards}" --quiet
