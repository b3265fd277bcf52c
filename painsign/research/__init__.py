"""Research tools over painsign's outputs: sign types re-learnt by clustering, scorers
compared on one video, and scorers evaluated against labelled clips and images (AUC,
Youden thresholds, leave-subjects-out folds). Not used by the bedside monitor.
"""
