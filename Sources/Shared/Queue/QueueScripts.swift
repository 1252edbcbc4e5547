import Redis

/// The Lua scripts of ``RedisJobQueue``. Every key of one queue shares the hash tag `{name}`
/// (`KEYS[1]`), so a queue lives on one Redis node when queues are sharded. The scripts build
/// their keys from it with the suffixes ``QueueKeys`` builds in Swift — change both together.
///
/// Keys, with `p` = `{name}`:
/// - `p:jobs` hash job → "priority|team": the jobs the queue holds, in any state.
/// - `p:ready:<team>` sorted set: the team's ready jobs, by (9 - priority, arrival).
/// - `p:teams` list + `p:active` set: teams with ready jobs, rotated for round-robin fairness.
/// - `p:suspended` set: teams whose jobs are parked; `p:suspended:changed` hash team → when an
///   API process last suspended or resumed it (ms), so the sweeper leaves fresh changes alone.
/// - `p:tokens` hash job → lease token; `p:leases` sorted set job → lease expiry (ms).
/// - `p:scheduled` sorted set job → when a retry falls due (ms); `p:scheduled:teams` hash team →
///   how many of them are the team's (kept by `schedule` / `unschedule`, the only writers of
///   `p:scheduled`), so a team's waiting jobs are counted without scanning.
/// - `p:leased:<team>` sorted set job → lease expiry (ms): the team's leased jobs, added at claim
///   and removed by `unlease` (every way a lease ends goes through it), so the count never drifts.
/// - `p:caps` hash team → `max_concurrent_jobs`; `p:capped` set: capped teams at their cap, kept
///   out of the rotation (`activate` skips them) until one of their leases ends. Their ready jobs
///   wait holding no worker slot.
/// - `p:seq` counter for arrival order; `p:done`, `p:cancel` pub/sub channels.
/// - `p:pause` hash (`paused` "1"/"0", `since` ms): the fleet-wide pause the claim reads first;
///   `p:pause:changed` the channel announcing each change.
/// - `p:sweep` hash: the sweeper's marker — `epoch` (set when it re-enqueued everything) and
///   `watermark` (PostgreSQL time, ms, up to which changed jobs were re-enqueued). It vanishes
///   with the rest of Redis's data, which is how the sweeper learns Redis lost it.
enum QueueScripts {
    /// Due retries one `promote_due` moves (the claim's first step, ``promoteDue``): a bounded
    /// piece of work per call, so Redis serves other clients between two.
    static let promoteLimit = 1000

    private static let helpers = """
        local p = KEYS[1]
        local function now_ms()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        local function team_of(id)
          local v = redis.call('HGET', p .. ':jobs', id)
          if not v then return nil end
          local _, team = string.match(v, '^(%d)|(.*)$')
          return team
        end
        local function activate(team)
          if redis.call('SISMEMBER', p .. ':suspended', team) == 0 and redis.call('SISMEMBER', p .. ':capped', team) == 0
            and redis.call('SADD', p .. ':active', team) == 1 then
            redis.call('RPUSH', p .. ':teams', team)
          end
        end
        local function deactivate(team)
          redis.call('LREM', p .. ':teams', -1, team)
          redis.call('SREM', p .. ':active', team)
        end
        local function at_cap(team)
          local cap = redis.call('HGET', p .. ':caps', team)
          return cap and redis.call('ZCARD', p .. ':leased:' .. team) >= tonumber(cap)
        end
        -- A team at its cap leaves the rotation; one below it that had left comes back.
        local function recap(team)
          if at_cap(team) then
            redis.call('SADD', p .. ':capped', team)
            deactivate(team)
          elseif redis.call('SREM', p .. ':capped', team) == 1 and redis.call('ZCARD', p .. ':ready:' .. team) > 0 then
            activate(team)
          end
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
        -- Every lease ends here: the team's slot is given back (and a capped team rejoins).
        local function unlease(id, team)
          redis.call('HDEL', p .. ':tokens', id)
          redis.call('ZREM', p .. ':leases', id)
          team = team or team_of(id)
          if team and redis.call('ZREM', p .. ':leased:' .. team, id) == 1 and redis.call('SISMEMBER', p .. ':capped', team) == 1 then
            recap(team)
          end
        end
        local function schedule(id, due)
          if redis.call('ZADD', p .. ':scheduled', due, id) == 1 then
            local team = team_of(id)
            if team then redis.call('HINCRBY', p .. ':scheduled:teams', team, 1) end
          end
        end
        local function unschedule(id, team)
          if redis.call('ZREM', p .. ':scheduled', id) == 1 then
            team = team or team_of(id)
            if team and redis.call('HINCRBY', p .. ':scheduled:teams', team, -1) <= 0 then
              redis.call('HDEL', p .. ':scheduled:teams', team)
            end
          end
        end
        -- Ready now, or scheduled when `due` (ms, 0 for none) is still ahead.
        local function ready_or_scheduled(id, due, now)
          if due > now then
            schedule(id, due)
          else
            make_ready(id)
          end
        end
        -- Moves up to `promoteLimit` retries due by `now` from `p:scheduled` into their ready
        -- sets; returns how many. The claim's first step and the census's (`promoteDue`).
        local function promote_due(now)
          local due = redis.call('ZRANGEBYSCORE', p .. ':scheduled', '-inf', now, 'LIMIT', 0, \(promoteLimit))
          for _, id in ipairs(due) do
            unschedule(id, nil)
            make_ready(id)
          end
          return #due
        end
        local function forget(id)
          local team = team_of(id)
          if team then redis.call('ZREM', p .. ':ready:' .. team, id) end
          unschedule(id, team)
          unlease(id, team)
          redis.call('HDEL', p .. ':jobs', id)
        end
        """

    private static func script(_ body: String) -> RedisScript {
        RedisScript(helpers + "\n" + body)
    }

    /// ARGV: quadruples (job, team, priority, retry due ms or 0). A job due later is scheduled,
    /// not made ready: a re-enqueue after Redis lost its data honours the job's `retry_at`.
    static let enqueue = script(
        """
        local now = now_ms()
        local n = 0
        for i = 1, #ARGV, 4 do
          local id, team, prio, due = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
          if redis.call('HSETNX', p .. ':jobs', id, prio .. '|' .. team) == 1 then
            ready_or_scheduled(id, due, now)
            n = n + 1
          else
            local expiry = redis.call('ZSCORE', p .. ':leases', id)
            if expiry and tonumber(expiry) < now then
              unlease(id, nil)
              ready_or_scheduled(id, due, now)
              n = n + 1
            end
          end
        end
        return n
        """
    )

    /// ARGV: lease ms, max, then `max` fresh tokens. Returns job/token pairs, then the ms until
    /// the next scheduled retry (-1 for none) — or only `paused` while claiming is paused
    /// fleet-wide (`p:pause`), touching nothing.
    static let claim = script(
        """
        if redis.call('HGET', p .. ':pause', 'paused') == '1' then return {'paused'} end
        local lease, max = tonumber(ARGV[1]), tonumber(ARGV[2])
        local now = now_ms()
        promote_due(now)
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
          elseif at_cap(team) then
            recap(team)
          else
            local popped = redis.call('ZPOPMIN', ready)
            if #popped > 0 then
              k = k + 1
              local id, token = popped[1], ARGV[2 + k]
              redis.call('HSET', p .. ':tokens', id, token)
              redis.call('ZADD', p .. ':leases', now + lease, id)
              redis.call('ZADD', p .. ':leased:' .. team, now + lease, id)
              out[#out + 1] = id
              out[#out + 1] = token
              if at_cap(team) then recap(team) end
            end
            if redis.call('ZCARD', ready) == 0 then deactivate(team) end
          end
        end
        local nxt = redis.call('ZRANGE', p .. ':scheduled', 0, 0, 'WITHSCORES')
        if nxt[2] then out[#out + 1] = tostring(math.max(0, tonumber(nxt[2]) - now)) else out[#out + 1] = '-1' end
        return out
        """
    )

    /// ARGV: nothing. Makes up to ``promoteLimit`` due retries ready, as a claim does first, and returns how
    /// many: the census runs it until fewer come back, so a due retry counts as ready (and is)
    /// even while every worker is full or claiming is paused — when the autoscaler reads it.
    static let promoteDue = script(
        """
        return promote_due(now_ms())
        """
    )

    /// ARGV: lease ms, then pairs (job, token). Returns the jobs whose token no longer matches.
    static let renew = script(
        """
        local now = now_ms()
        local lease = tonumber(ARGV[1])
        local lost = {}
        for i = 2, #ARGV, 2 do
          local id, token = ARGV[i], ARGV[i + 1]
          if redis.call('HGET', p .. ':tokens', id) == token then
            redis.call('ZADD', p .. ':leases', now + lease, id)
            local team = team_of(id)
            if team then redis.call('ZADD', p .. ':leased:' .. team, 'XX', now + lease, id) end
          else
            lost[#lost + 1] = id
          end
        end
        return lost
        """
    )

    /// What a worker does after settling a batch, in one round trip. ARGV: the completed jobs to
    /// announce (comma-separated, may be empty); the number of pairs to acknowledge, then the
    /// pairs (job, token); then triples (job, token, delay ms) to requeue. Only the current
    /// delivery (matching token) may acknowledge or requeue a job.
    static let finish = script(
        """
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
            unlease(id, nil)
            if delay > 0 then
              schedule(id, now + delay)
            else
              make_ready(id)
            end
          end
          i = i + 3
        end
        if ARGV[1] ~= '' then redis.call('PUBLISH', p .. ':done', ARGV[1]) end
        return 1
        """
    )

    /// ARGV: the completed jobs to announce (comma-separated, may be empty), then jobs.
    static let remove = script(
        """
        for i = 2, #ARGV do forget(ARGV[i]) end
        if ARGV[1] ~= '' then redis.call('PUBLISH', p .. ':done', ARGV[1]) end
        return #ARGV - 1
        """
    )

    /// ARGV: triples (job, team, priority).
    static let reset = script(
        """
        for i = 1, #ARGV, 3 do
          local id, team, prio = ARGV[i], ARGV[i + 1], ARGV[i + 2]
          forget(id)
          redis.call('HSET', p .. ':jobs', id, prio .. '|' .. team)
          make_ready(id)
        end
        return #ARGV / 3
        """
    )

    /// ARGV: team, 1 to suspend or 0 to resume.
    static let suspend = script(
        """
        local team = ARGV[1]
        redis.call('HSET', p .. ':suspended:changed', team, now_ms())
        if ARGV[2] == '1' then
          redis.call('SADD', p .. ':suspended', team)
          deactivate(team)
        else
          redis.call('SREM', p .. ':suspended', team)
          if redis.call('ZCARD', p .. ':ready:' .. team) > 0 then activate(team) end
        end
        return 1
        """
    )

    /// Makes the parked teams those PostgreSQL says are suspended. ARGV: grace ms, then every
    /// suspended team. Teams suspended or resumed within the grace are left alone: their API
    /// process may have changed PostgreSQL after the sweeper read it. Returns {parked, unparked}.
    static let reconcileSuspended = script(
        """
        local now = now_ms()
        local grace = tonumber(ARGV[1])
        local changed = p .. ':suspended:changed'
        local fresh = {}
        local stamps = redis.call('HGETALL', changed)
        for i = 1, #stamps, 2 do
          if tonumber(stamps[i + 1]) >= now - grace then fresh[stamps[i]] = true else redis.call('HDEL', changed, stamps[i]) end
        end
        local wanted = {}
        local parked, unparked = 0, 0
        for i = 2, #ARGV do
          local team = ARGV[i]
          wanted[team] = true
          if not fresh[team] and redis.call('SADD', p .. ':suspended', team) == 1 then
            deactivate(team)
            parked = parked + 1
          end
        end
        for _, team in ipairs(redis.call('SMEMBERS', p .. ':suspended')) do
          if not wanted[team] and not fresh[team] then
            redis.call('SREM', p .. ':suspended', team)
            if redis.call('ZCARD', p .. ':ready:' .. team) > 0 then activate(team) end
            unparked = unparked + 1
          end
        end
        return {parked, unparked}
        """
    )

    /// ARGV: team, its cap (`max_concurrent_jobs`; 0 for none). A team at or over a new cap leaves
    /// the rotation until enough of its leases end; one below it (or uncapped) rejoins.
    static let setCap = script(
        """
        local team, cap = ARGV[1], tonumber(ARGV[2])
        if cap > 0 then redis.call('HSET', p .. ':caps', team, cap) else redis.call('HDEL', p .. ':caps', team) end
        recap(team)
        return 1
        """
    )

    /// Makes the caps exactly PostgreSQL's (after Redis lost its data). ARGV: pairs (team, cap).
    /// Returns how many teams' caps changed.
    static let reconcileCaps = script(
        """
        local wanted = {}
        local changed = 0
        for i = 1, #ARGV, 2 do wanted[ARGV[i]] = true end
        for _, team in ipairs(redis.call('HKEYS', p .. ':caps')) do
          if not wanted[team] then
            redis.call('HDEL', p .. ':caps', team)
            recap(team)
            changed = changed + 1
          end
        end
        for i = 1, #ARGV, 2 do
          if redis.call('HGET', p .. ':caps', ARGV[i]) ~= ARGV[i + 1] then
            redis.call('HSET', p .. ':caps', ARGV[i], ARGV[i + 1])
            changed = changed + 1
          end
          recap(ARGV[i])
        end
        for _, team in ipairs(redis.call('SMEMBERS', p .. ':capped')) do recap(team) end
        return changed
        """
    )

    /// ARGV: team. Its jobs waiting in the queue: ready (parked included) and scheduled.
    static let waiting = script(
        """
        local team = ARGV[1]
        return redis.call('ZCARD', p .. ':ready:' .. team) + tonumber(redis.call('HGET', p .. ':scheduled:teams', team) or 0)
        """
    )

    /// ARGV: grace ms, offset, count. Jobs whose lease in Redis expired more than `grace` ago,
    /// oldest first: the sweeper checks them against PostgreSQL.
    static let expiredLeases = script(
        """
        local before = now_ms() - tonumber(ARGV[1])
        return redis.call('ZRANGEBYSCORE', p .. ':leases', '-inf', '(' .. before, 'LIMIT', tonumber(ARGV[2]), tonumber(ARGV[3]))
        """
    )

    /// ARGV: nothing to read the marker ({epoch, watermark}); "begin" and a new epoch to start a
    /// full re-enqueue (the watermark is dropped until it completes); "advance", the epoch read
    /// and a watermark to record it — only if the epoch is still the one read, so a Redis that
    /// lost its data meanwhile is not marked as holding what it lost. Returns {epoch, watermark}.
    static let sweepMarker = script(
        """
        local key = p .. ':sweep'
        if ARGV[1] == 'begin' then
          redis.call('DEL', key)
          redis.call('HSET', key, 'epoch', ARGV[2])
        elseif ARGV[1] == 'advance' then
          if redis.call('HGET', key, 'epoch') == ARGV[2] then redis.call('HSET', key, 'watermark', ARGV[3]) end
        end
        return redis.call('HMGET', key, 'epoch', 'watermark')
        """
    )

    /// ARGV: "1" to pause claiming fleet-wide, "0" to resume. `since` changes only with the
    /// state; every call is published on `p:pause:changed` (a claimer that missed an earlier
    /// resume hears this one). Returns {paused, since ms or '', changed}.
    ///
    /// A call that finds no state at all (Redis lost its data) writes it, with `since` now, though
    /// nothing changed for the claims: the sweeper's ``reconcilePause`` then sees an admin's
    /// recent call and leaves it.
    static let pause = script(
        """
        local key = p .. ':pause'
        local changed = 0
        local current = redis.call('HGET', key, 'paused')
        if current ~= ARGV[1] then
          redis.call('HSET', key, 'paused', ARGV[1], 'since', now_ms())
          if (current or '0') ~= ARGV[1] then changed = 1 end
        end
        redis.call('PUBLISH', p .. ':pause:changed', ARGV[1])
        local state = redis.call('HMGET', key, 'paused', 'since')
        return {state[1] or '0', state[2] or '', changed}
        """
    )

    /// ARGV: "1"/"0", the pause PostgreSQL records; the grace in ms. Sets the queue's pause to it
    /// unless it already is so or was changed within the grace (by Redis's clock: an admin call
    /// whose record committed after the sweeper read it). Announced like an admin's. Returns 1
    /// when it set it.
    static let reconcilePause = script(
        """
        local key = p .. ':pause'
        local state = redis.call('HMGET', key, 'paused', 'since')
        if (state[1] or '0') == ARGV[1] then return 0 end
        if state[2] and (now_ms() - tonumber(state[2])) < tonumber(ARGV[2]) then return 0 end
        redis.call('HSET', key, 'paused', ARGV[1], 'since', now_ms())
        redis.call('PUBLISH', p .. ':pause:changed', ARGV[1])
        return 1
        """
    )

    /// ARGV: jobs. Returns those the queue holds.
    static let held = script(
        """
        local out = {}
        for i = 1, #ARGV do
          if redis.call('HEXISTS', p .. ':jobs', ARGV[i]) == 1 then out[#out + 1] = ARGV[i] end
        end
        return out
        """
    )
}
