"""The answer: statistics, verdicts in words, power, summary pages, figures, publishing a run."""
