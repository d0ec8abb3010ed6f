#!/bin/bash
# framescribe batch as a Slurm job array: one array task per shard (configs/deploy/README.md).
# Submit: sbatch configs/deploy/slurm-array.sh /shared/jobs/job.yaml
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
# The shard is SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT (framescribe reads both); a requeued
# task resumes from its state file.
srun framescribe batch "$job_file" --quiet
