WITH v(bet_id, leg_no, state, rule, result_id, was) AS (SELECT * FROM unnest(CAST($1 AS BIGINT[]), CAST($2 AS BIGINT[]), CAST($3 AS TEXT[]), CAST($4 AS TEXT[]), CAST($5 AS BIGINT[]), CAST($6 AS BIGINT[]))) UPDATE bet_legs SET state = v.state, rule = v.rule, result_id = v.result_id
  FROM v WHERE bet_legs.bet_id = +v.bet_id AND bet_legs.leg_no = +v.leg_no
    AND COALESCE(bet_legs.result_id, 0) = +v.was AND bet_legs.bet_id = ANY($7)
