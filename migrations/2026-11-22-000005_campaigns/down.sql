DROP TABLE suppression_list;
DROP TABLE campaign_recipients;
DROP TABLE campaign_steps;
DROP TABLE campaigns;
DROP TABLE templates;
