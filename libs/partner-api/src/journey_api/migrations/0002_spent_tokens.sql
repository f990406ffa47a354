-- Tokens spent on a read a token may make only once (a person's identifying details):
-- the same client's token id is refused a second time while the token lives. Rows past
-- their token's expiry are purged as new ones come in.
CREATE TABLE spent_tokens (
    client_id   text        NOT NULL,
    token_id    text        NOT NULL,   -- the token's jti
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (client_id, token_id)
);
CREATE INDEX spent_tokens_expiry ON spent_tokens (expires_at);
