"""The columns of the tables that the training stages write and the collecting and report
stages read. Torch-free, so that those light stages do not load PyTorch (about 2.5 CPU
seconds per job)."""

from workflow_scripts.study.grid import BLOCK_KEY

# a block's checkpoints.csv: every member's test scores at each pre-declared epoch count
CHECKPOINT_SCORE_COLUMNS = [*BLOCK_KEY, "n_train", "seed", "pretrain_seed", "epochs", "accuracy", "balanced_accuracy",
                            "macro_f1"]
# a block's metrics.csv (finetune.blocks.score_member's keys); results/metrics.csv adds config_hash
METRIC_COLUMNS = [*BLOCK_KEY, "n_train", "seed", "pretrain_seed", "n_fit", "n_stop", "folds", "accuracy",
                  "balanced_accuracy", "macro_f1", "confusion", "stop_accuracy", "stop_balanced_accuracy",
                  "stop_accuracy_sd", "stop_balanced_accuracy_sd", "epochs_run", "best_epoch", "fold_epochs_run",
                  "train_seconds"]
# a block's int8_metrics.csv: every member scored again with its network quantised to int8
INT8_COLUMNS = [*BLOCK_KEY, "n_train", "seed", "pretrain_seed", "accuracy", "balanced_accuracy", "macro_f1", "agreement"]
# how a source network's training ended (pretrain/sources.csv, pretraining curves)
STOPPING_KEYS = ("epochs_run", "best_epoch", "max_epochs", "stopped_early")
