DROP TABLE api_keys;
DROP TABLE refresh_tokens;
DROP TABLE organization_members;
DROP TABLE users;
DROP TABLE organizations;
