DROP TABLE ai_agent_origins;
