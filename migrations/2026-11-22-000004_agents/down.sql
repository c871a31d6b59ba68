DROP TABLE agent_executions;
DROP TABLE agent_memories;
