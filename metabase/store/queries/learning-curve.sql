-- name: learning-curve
-- description: A dataset's learning curves (LCDB): mean validation and test score per learner and training-set size, over the seeds.
-- param: dataset_id int                        The OpenML dataset id.
-- param: measure str = 'predictive_accuracy'   The measure (LCDB's: predictive_accuracy, log_loss, area_under_roc_curve, f1).
-- param: learner str = NULL                    Only this learner (default: all).
WITH curve AS (
    SELECT * FROM learning_curves
    WHERE dataset_id = $dataset_id AND measure = $measure
      AND ($learner IS NULL OR learner = $learner)
),
checked AS (
    SELECT CASE WHEN count(*) = 0 THEN error(
        'no learning curves for dataset ' || $dataset_id || ' and measure ' || $measure
        || coalesce(' and learner ' || $learner, '')
        || ' (LCDB has curves for 219 datasets; import them with `metabase import lcdb PATH`)')
        ELSE true END AS ok
    FROM curve
)
SELECT learner,
       size_train,
       count(*) AS points,
       avg(score_valid) AS mean_valid,
       avg(score_test) AS mean_test,
       stddev_samp(score_test) AS sd_test,
       avg(traintime) AS mean_traintime
FROM curve
WHERE (SELECT ok FROM checked)
GROUP BY learner, size_train
ORDER BY learner, size_train;
