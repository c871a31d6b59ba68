DROP TABLE deals;
DROP TABLE pipeline_stages;
DROP TABLE pipelines;
DROP TABLE contacts;
DROP TABLE companies;
