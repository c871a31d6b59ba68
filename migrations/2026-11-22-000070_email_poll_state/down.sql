DROP TABLE email_poll_state;
