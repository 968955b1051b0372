#!/usr/bin/env bash
# Deletes, in one call to the local broker, the RabbitMQ queues and exchanges that tests declare
# under unique names (prefixes e2e_ and outpost_test_). Tests delete their own at the end; this
# removes what a killed or interrupted run left behind, since hundreds of leftover quorum queues
# make a small broker stop answering. Does nothing when TEST_RABBITMQ_URL points elsewhere.
set -euo pipefail

if [[ -n "${TEST_RABBITMQ_URL:-}" ]] || ! command -v rabbitmqctl >/dev/null; then
  exit 0
fi

timeout 120 rabbitmqctl eval '
Pat = "^(e2e_|outpost_test_)",
Match = fun(R) -> re:run(element(4, R), Pat) =/= nomatch end,
Qs = [Q || Q <- rabbit_amqqueue:list(<<"/">>), Match(amqqueue:get_name(Q))],
[rabbit_amqqueue:delete(Q, false, false, <<"outpost-tests">>) || Q <- Qs],
Xs = [element(2, X) || X <- rabbit_exchange:list(<<"/">>), Match(element(2, X))],
[rabbit_exchange:delete(N, false, <<"outpost-tests">>) || N <- Xs],
io_lib:format("deleted ~b leftover test queues and ~b exchanges", [length(Qs), length(Xs)]).' \
  | tr -d '"' | sed 's/^/services: RabbitMQ: /'
