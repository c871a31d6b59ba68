DROP TABLE messages;
DROP TABLE chats;
DROP TABLE ai_agents;
DROP TABLE channels;
