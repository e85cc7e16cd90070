WITH v(bet_id, leg_no, state, rule, result_id, was) AS (VALUES ($1, $2, $3, $4, $5, $6), ($7, $8, $9, $10, $11, $12)) UPDATE bet_legs SET state = v.state, rule = v.rule, result_id = v.result_id
  FROM v WHERE bet_legs.bet_id = +v.bet_id AND bet_legs.leg_no = +v.leg_no
    AND COALESCE(bet_legs.result_id, 0) = +v.was
