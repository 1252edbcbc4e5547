/// The Lua scripts of ``RedisJobQueue``. Every key of one queue shares the hash tag `{name}`
/// (`KEYS[1]`), so a queue lives on one Redis node when queues are sharded.
///
/// Keys, with `p` = `{name}`:
/// - `p:jobs` hash job → "priority|team": the jobs the queue holds, in any state.
/// - `p:ready:<team>` sorted set: the team's ready jobs, by (9 - priority, arrival).
/// - `p:teams` list + `p:active` set: teams with ready jobs, rotated for round-robin fairness.
/// - `p:suspended` set: teams whose jobs are parked.
/// - `p:tokens` hash job → lease token; `p:leases` sorted set job → lease expiry (ms).
/// - `p:scheduled` sorted set job → when a retry falls due (ms).
/// - `p:seq` counter for arrival order; `p:done`, `p:cancel` pub/sub channels.
enum QueueScripts {
    private static let helpers = """
        local p = KEYS[1]
        local function now_ms()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        local function activate(team)
          if redis.call('SISMEMBER', p .. ':suspended', team) == 0 and redis.call('SADD', p .. ':active', team) == 1 then
            redis.call('RPUSH', p .. ':teams', team)
          end
        end
        local function deactivate(team)
          redis.call('LREM', p .. ':teams', -1, team)
          redis.call('SREM', p .. ':active', team)
        end
        local function make_ready(id)
          local v = redis.call('HGET', p .. ':jobs', id)
          if not v then return false end
          local prio, team = string.match(v, '^(%d)|(.*)$')
          local seq = redis.call('INCR', p .. ':seq')
          redis.call('ZADD', p .. ':ready:' .. team, (9 - tonumber(prio)) * 1e14 + seq, id)
          activate(team)
          return true
        end
        local function unlease(id)
          redis.call('HDEL', p .. ':tokens', id)
          redis.call('ZREM', p .. ':leases', id)
        end
        local function forget(id)
          local v = redis.call('HGET', p .. ':jobs', id)
          if v then
            local _, team = string.match(v, '^(%d)|(.*)$')
            redis.call('ZREM', p .. ':ready:' .. team, id)
          end
          redis.call('ZREM', p .. ':scheduled', id)
          unlease(id)
          redis.call('HDEL', p .. ':jobs', id)
        end
        """

    private static func script(_ body: String) -> RedisScript {
        RedisScript(helpers + "\n" + body)
    }

    /// ARGV: triples (job, team, priority).
    static let enqueue = script("""
        local now = now_ms()
        local n = 0
        for i = 1, #ARGV, 3 do
          local id, team, prio = ARGV[i], ARGV[i + 1], ARGV[i + 2]
          if redis.call('HSETNX', p .. ':jobs', id, prio .. '|' .. team) == 1 then
            make_ready(id)
            n = n + 1
          else
            local expiry = redis.call('ZSCORE', p .. ':leases', id)
            if expiry and tonumber(expiry) < now then
              unlease(id)
              make_ready(id)
              n = n + 1
            end
          end
        end
        return n
        """)

    /// ARGV: lease ms, max, then `max` fresh tokens. Returns job/token pairs, then the ms until
    /// the next scheduled retry (-1 for none).
    static let claim = script("""
        local lease, max = tonumber(ARGV[1]), tonumber(ARGV[2])
        local now = now_ms()
        local due = redis.call('ZRANGEBYSCORE', p .. ':scheduled', '-inf', now, 'LIMIT', 0, 1000)
        for _, id in ipairs(due) do
          redis.call('ZREM', p .. ':scheduled', id)
          make_ready(id)
        end
        local out = {}
        local k = 0
        local guard = max + redis.call('LLEN', p .. ':teams') + 1
        while k < max and guard > 0 do
          guard = guard - 1
          local team = redis.call('LMOVE', p .. ':teams', p .. ':teams', 'LEFT', 'RIGHT')
          if not team then break end
          local ready = p .. ':ready:' .. team
          if redis.call('SISMEMBER', p .. ':suspended', team) == 1 then
            deactivate(team)
          else
            local popped = redis.call('ZPOPMIN', ready)
            if #popped > 0 then
              k = k + 1
              local id, token = popped[1], ARGV[2 + k]
              redis.call('HSET', p .. ':tokens', id, token)
              redis.call('ZADD', p .. ':leases', now + lease, id)
              out[#out + 1] = id
              out[#out + 1] = token
            end
            if redis.call('ZCARD', ready) == 0 then deactivate(team) end
          end
        end
        local nxt = redis.call('ZRANGE', p .. ':scheduled', 0, 0, 'WITHSCORES')
        if nxt[2] then out[#out + 1] = tostring(math.max(0, tonumber(nxt[2]) - now)) else out[#out + 1] = '-1' end
        return out
        """)

    /// ARGV: lease ms, then pairs (job, token). Returns the jobs whose token no longer matches.
    static let renew = script("""
        local now = now_ms()
        local lease = tonumber(ARGV[1])
        local lost = {}
        for i = 2, #ARGV, 2 do
          local id, token = ARGV[i], ARGV[i + 1]
          if redis.call('HGET', p .. ':tokens', id) == token then
            redis.call('ZADD', p .. ':leases', now + lease, id)
          else
            lost[#lost + 1] = id
          end
        end
        return lost
        """)

    /// What a worker does after settling a batch, in one round trip. ARGV: the completed jobs to
    /// announce (comma-separated, may be empty); the number of pairs to acknowledge, then the
    /// pairs (job, token); then triples (job, token, delay ms) to requeue. Only the current
    /// delivery (matching token) may acknowledge or requeue a job.
    static let finish = script("""
        local now = now_ms()
        local acks = tonumber(ARGV[2])
        local i = 3
        for _ = 1, acks do
          local id, token = ARGV[i], ARGV[i + 1]
          if redis.call('HGET', p .. ':tokens', id) == token then forget(id) end
          i = i + 2
        end
        while i <= #ARGV do
          local id, token, delay = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
          if redis.call('HGET', p .. ':tokens', id) == token then
            unlease(id)
            if delay > 0 then
              redis.call('ZADD', p .. ':scheduled', now + delay, id)
            else
              make_ready(id)
            end
          end
          i = i + 3
        end
        if ARGV[1] ~= '' then redis.call('PUBLISH', p .. ':done', ARGV[1]) end
        return 1
        """)

    /// ARGV: the completed jobs to announce (comma-separated, may be empty), then jobs.
    static let remove = script("""
        for i = 2, #ARGV do forget(ARGV[i]) end
        if ARGV[1] ~= '' then redis.call('PUBLISH', p .. ':done', ARGV[1]) end
        return #ARGV - 1
        """)

    /// ARGV: triples (job, team, priority).
    static let reset = script("""
        for i = 1, #ARGV, 3 do
          local id, team, prio = ARGV[i], ARGV[i + 1], ARGV[i + 2]
          forget(id)
          redis.call('HSET', p .. ':jobs', id, prio .. '|' .. team)
          make_ready(id)
        end
        return #ARGV / 3
        """)

    /// ARGV: team, 1 to suspend or 0 to resume.
    static let suspend = script("""
        local team = ARGV[1]
        if ARGV[2] == '1' then
          redis.call('SADD', p .. ':suspended', team)
          deactivate(team)
        else
          redis.call('SREM', p .. ':suspended', team)
          if redis.call('ZCARD', p .. ':ready:' .. team) > 0 then activate(team) end
        end
        return 1
        """)

    /// ARGV: jobs. Returns those the queue holds.
    static let held = script("""
        local out = {}
        for i = 1, #ARGV do
          if redis.call('HEXISTS', p .. ':jobs', ARGV[i]) == 1 then out[#out + 1] = ARGV[i] end
        end
        return out
        """)
}
