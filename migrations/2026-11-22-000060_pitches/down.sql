DROP TABLE pitch_job_items;
DROP TABLE pitch_jobs;
DROP TABLE pitches;
