import Redis

/// The submit limits' one round trip (``SubmitLimiter``): `max_queued_jobs` against the team's
/// jobs waiting in the queue, then `submits_per_second` as a token bucket. Redis's `TIME` is the
/// clock, so every API process shares the bucket and none needs a clock of its own.
///
/// KEYS: the team's bucket (`{q}:submits:<team>`), its ready jobs (`{q}:ready:<team>`) and the
/// queue's scheduled counts by team (`{q}:scheduled:teams`) — all under the queue's hash tag, as
/// ``QueueKeys`` builds them. ARGV: rate (tokens a second, `0` for none), `max_queued_jobs` (`0`
/// for none), team, and the jobs the request would add (absent: 1; a batch's count once its
/// envelope is read). Returns `{verdict, retry-after seconds}`: 0 admitted (a token taken), 1 over
/// `submits_per_second`, 2 over `max_queued_jobs`. A refusal takes nothing.
///
/// The bucket holds one second's worth of tokens (at least 1): a team may submit its rate in a
/// burst, then one every `1/rate` seconds. Its hash (`tokens`, `ms`) expires once it would be
/// full again anyway.
enum SubmitLimitScript {
    static let script = RedisScript(
        """
        local bucket, ready, scheduled = KEYS[1], KEYS[2], KEYS[3]
        local rate, max_queued, team = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
        local adding = tonumber(ARGV[4] or '1')
        if max_queued > 0 then
          local waiting = redis.call('ZCARD', ready) + tonumber(redis.call('HGET', scheduled, team) or 0)
          if waiting + adding > max_queued then return {2, 1} end
        end
        if rate > 0 then
          local burst = math.max(1, rate)
          local t = redis.call('TIME')
          local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
          local state = redis.call('HMGET', bucket, 'tokens', 'ms')
          local tokens = tonumber(state[1]) or burst
          local last = tonumber(state[2]) or now
          tokens = math.min(burst, tokens + math.max(0, now - last) * rate / 1000)
          if tokens < 1 then
            return {1, math.max(1, math.ceil((1 - tokens) / rate))}
          end
          redis.call('HSET', bucket, 'tokens', tostring(tokens - 1), 'ms', tostring(now))
          redis.call('PEXPIRE', bucket, math.ceil(burst / rate * 1000) + 1000)
        end
        return {0, 0}
        """
    )
}
