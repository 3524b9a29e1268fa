// The dashboard at http://<gateway>/: plain browser JavaScript, no framework, no build step, no
// network beyond the gateway's public WebSocket API (ws://<location.host>/api/v1/ws/...):
//   prices/<market>        price_update           -> each market card's price and chart
//   market-stats/<market>  market_stats, funding_rate_update -> open interest and funding
//   positions/<address>    positions_update, liquidation_warning, position_* -> positions, banner
//   liquidations           liquidation_alert      -> the candidates table
//   events                 position_*, funding_rate_update, market_listed, chain_reorg -> the feed
// Every socket reconnects with exponential backoff (5 s doubling to 60 s, reset once open), as the
// API's WebSocketManager does; the events socket resumes with ?from=<cursor of the last event>.
// Unknown frame types are ignored. Amounts stay decimal strings: they are formatted as text, and
// turned into numbers only to place chart points.
//
// Hooks for browser tests (stable ids; each also carries the same data-testid):
//   #price-<market>            the market's last price, e.g. #price-btc-usdc-perp; its text changes
//                              with every price_update ("–" until the first)
//   #chart-<market>            the price chart (svg); #line-<market> is its polyline, last 120 points
//   #long-oi-<market> #short-oi-<market> #total-oi-<market> #funding-<market>   market stats
//   #market-<market>           the market's card, in #markets
//   #liquidation-warning       the red banner: visible (no `hidden` attribute) after a
//                              liquidation_warning for the watched address, or its liquidation;
//                              #liquidation-warning-message holds the text, #liquidation-warning-dismiss hides it
//   #address-input, #address-form   the watched address; also settable as #address=0x... in the URL
//   #positions-body            one <tr data-position-id> per open position; #positions-total-pnl
//   #candidates-body           one <tr data-position-id> per candidate; #candidates-count
//   #event-feed                one <li data-type> per event, newest first (at most 100)
//   #connection-status         "n/m live"; body[data-connected="true"] once every socket is open
//   [data-address]             any clickable address (feed, candidates): a click watches it
'use strict'
;(() => {
  /** The markets listed on the local chain (contracts-abi/markets.ts); market_listed frames add more. */
  const MARKETS = [
    { id: 'btc-usdc-perp', symbol: 'BTC/USDC' },
    { id: 'eth-usdc-perp', symbol: 'ETH/USDC' },
    { id: 'sol-usdc-perp', symbol: 'SOL/USDC' },
  ]
  const CHART_POINTS = 120
  const FEED_LIMIT = 100
  const RECONNECT_INITIAL_MS = 5000
  const RECONNECT_MAX_MS = 60000
  const ADDRESS = /^0x[0-9a-fA-F]{40}$/

  const $ = (id) => {
    const element = document.getElementById(id)
    if (element === null) throw new Error(`the page has no #${id}`)
    return element
  }

  const streams = new Set()

  // --- formatting -------------------------------------------------------------------------------

  /** "1234567.891" -> "1,234,567.89": grouped, cut (not rounded) to `places` decimals, no floats. */
  function formatAmount(text, places = 2) {
    if (typeof text !== 'string' || !/^-?\d+(\.\d+)?$/.test(text)) return '–'
    const negative = text.startsWith('-')
    const [whole, fraction = ''] = (negative ? text.slice(1) : text).split('.')
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
    const cut = fraction.slice(0, places).replace(/0+$/, '')
    const sign = negative && /[1-9]/.test(whole + fraction.slice(0, places)) ? '-' : ''
    return `${sign}${grouped}${cut === '' ? '' : `.${cut}`}`
  }

  /** Enough decimals for small prices (SOL) without drowning large ones (BTC). */
  function formatPrice(text) {
    const whole = typeof text === 'string' ? text.replace('-', '').split('.')[0] : ''
    return formatAmount(text, whole.length >= 4 ? 2 : whole === '0' ? 6 : 4)
  }

  /** A rate per funding update as a percentage, e.g. "0.00015" -> "0.015%": the point moves, no floats. */
  function formatRate(text) {
    if (typeof text !== 'string' || !/^-?\d+(\.\d+)?$/.test(text)) return '–'
    const negative = text.startsWith('-')
    const [whole, fraction = ''] = (negative ? text.slice(1) : text).split('.')
    const padded = fraction.padEnd(2, '0')
    const percentWhole = `${whole}${padded.slice(0, 2)}`.replace(/^0+(?=\d)/, '')
    const percentFraction = padded.slice(2)
    return `${formatAmount(`${negative ? '-' : ''}${percentWhole}${percentFraction === '' ? '' : `.${percentFraction}`}`, 4)}%`
  }

  const shortHex = (hex) => (typeof hex === 'string' && hex.length > 12 ? `${hex.slice(0, 6)}…${hex.slice(-4)}` : String(hex ?? ''))
  const signClass = (text) => (typeof text === 'string' && text.startsWith('-') ? 'negative' : 'positive')

  function element(tag, options = {}, children = []) {
    const node = document.createElement(tag)
    if (options.text !== undefined) node.textContent = options.text
    if (options.className) node.className = options.className
    for (const [name, value] of Object.entries(options.attributes ?? {})) node.setAttribute(name, value)
    for (const child of children) node.append(child)
    return node
  }

  /** A clickable address: clicking it watches its positions. */
  function addressLink(address) {
    return element('button', { text: shortHex(address), className: 'address', attributes: { type: 'button', 'data-address': address, title: address } })
  }

  // --- connections (the API's WebSocketManager, with a status) ------------------------------------

  /** Opens ws://host/api/v1/ws/<path>, reconnecting with backoff until close(). */
  function openStream(path, onFrame, { resumeQuery } = {}) {
    const stream = { path, open: false, closed: false, socket: null, timer: null, delay: RECONNECT_INITIAL_MS }
    const connect = () => {
      const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
      const query = resumeQuery ? resumeQuery() : ''
      const socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws/${path}${query}`)
      stream.socket = socket
      socket.onopen = () => {
        stream.open = true
        stream.delay = RECONNECT_INITIAL_MS
        showConnections()
      }
      socket.onmessage = (event) => {
        let frame
        try {
          frame = JSON.parse(event.data)
        } catch (error) {
          console.error(`unreadable frame on ${path}`, error)
          return
        }
        try {
          if (frame !== null && typeof frame === 'object') onFrame(frame)
        } catch (error) {
          console.error(`cannot show a ${frame.type} frame from ${path}`, error)
        }
      }
      socket.onclose = () => {
        stream.open = false
        showConnections()
        if (stream.closed) return
        stream.timer = setTimeout(connect, stream.delay)
        stream.delay = Math.min(stream.delay * 2, RECONNECT_MAX_MS)
      }
      socket.onerror = () => console.warn(`WebSocket error on ${path}`)
    }
    stream.close = () => {
      stream.closed = true
      clearTimeout(stream.timer)
      stream.socket?.close()
      streams.delete(stream)
      showConnections()
    }
    streams.add(stream)
    connect()
    return stream
  }

  function showConnections() {
    const all = [...streams]
    const live = all.filter((s) => s.open).length
    const status = $('connection-status')
    status.textContent = `${live}/${all.length} live`
    status.classList.toggle('all-live', live === all.length && all.length > 0)
    document.body.dataset.connected = String(live === all.length && all.length > 0)
  }

  // --- markets ----------------------------------------------------------------------------------

  const marketCards = new Map()

  function addMarket(id, symbol) {
    if (marketCards.has(id)) return
    const card = $('market-card-template').content.firstElementChild.cloneNode(true)
    card.id = `market-${id}`
    card.dataset.testid = card.id
    const fields = {}
    for (const node of card.querySelectorAll('[data-field]')) {
      node.id = `${node.dataset.field}-${id}`
      node.dataset.testid = node.id
      fields[node.dataset.field] = node
    }
    fields.symbol.textContent = symbol
    $('markets').append(card)
    const market = { fields, points: [] }
    marketCards.set(id, market)
    openStream(`prices/${id}`, (frame) => onPriceFrame(market, frame))
    openStream(`market-stats/${id}`, (frame) => onStatsFrame(market, frame))
  }

  function onPriceFrame(market, frame) {
    if (frame.type === 'connected' && frame.symbol) market.fields.symbol.textContent = frame.symbol
    if (frame.type !== 'price_update') return
    const previous = market.points.at(-1)
    const value = Number(frame.price)
    market.fields.price.textContent = formatPrice(frame.price)
    market.fields.price.classList.toggle('up', previous !== undefined && value > previous)
    market.fields.price.classList.toggle('down', previous !== undefined && value < previous)
    market.fields.confidence.textContent = `±${formatPrice(frame.confidence)}`
    market.fields.age.textContent = `${frame.age_seconds ?? 0}s ago`
    if (Number.isFinite(value)) {
      market.points.push(value)
      if (market.points.length > CHART_POINTS) market.points.shift()
      drawChart(market.fields.line, market.points)
    }
  }

  function drawChart(line, points) {
    const low = Math.min(...points)
    const high = Math.max(...points)
    const span = high - low || 1
    const step = 240 / (CHART_POINTS - 1)
    const offset = CHART_POINTS - points.length
    line.setAttribute('points', points.map((p, i) => `${((offset + i) * step).toFixed(1)},${(58 - ((p - low) / span) * 56).toFixed(1)}`).join(' '))
  }

  function onStatsFrame(market, frame) {
    const stats =
      frame.type === 'market_stats'
        ? { long: frame.total_long_oi, short: frame.total_short_oi, total: frame.total_oi, rate: frame.funding_rate }
        : frame.type === 'funding_rate_update' && frame.data
          ? { long: frame.data.long_oi, short: frame.data.short_oi, total: undefined, rate: frame.data.funding_rate }
          : undefined
    if (stats === undefined) return
    market.fields['long-oi'].textContent = formatAmount(stats.long)
    market.fields['short-oi'].textContent = formatAmount(stats.short)
    if (stats.total !== undefined) market.fields['total-oi'].textContent = formatAmount(stats.total)
    market.fields.funding.textContent = formatRate(stats.rate)
    market.fields.funding.className = signClass(stats.rate)
  }

  // --- positions of the watched address ---------------------------------------------------------

  let positionsStream = null

  function watchAddress(text) {
    const address = text.trim().toLowerCase()
    $('address-input').value = address
    positionsStream?.close()
    positionsStream = null
    $('positions-body').replaceChildren()
    $('positions-total-pnl').textContent = '–'
    hideWarning()
    if (address === '') {
      $('positions-status').textContent = 'Enter an address to see its positions.'
      history.replaceState(null, '', location.pathname + location.search)
      return
    }
    if (!ADDRESS.test(address)) {
      $('positions-status').textContent = 'That is not an address (0x and 40 hex digits).'
      return
    }
    history.replaceState(null, '', `#address=${address}`)
    $('positions-status').textContent = `Watching ${shortHex(address)}…`
    positionsStream = openStream(`positions/${address}`, onPositionsFrame)
  }

  function onPositionsFrame(frame) {
    switch (frame.type) {
      case 'positions_update':
        showPositions(frame)
        break
      case 'liquidation_warning':
        showWarning(
          'Liquidation warning',
          `${frame.data?.message ?? 'A position is at risk of liquidation!'} ${frame.data?.market_id ?? ''} health ${formatAmount(frame.data?.health_factor, 3)}, liquidation price ${formatPrice(frame.data?.liquidation_price)} (position ${shortHex(frame.data?.position_id)})`,
        )
        break
      case 'position_liquidated':
        showWarning('Position liquidated', `${frame.data?.market_id ?? ''} position ${shortHex(frame.data?.position_id)} was liquidated at ${formatPrice(frame.data?.liquidation_price)}.`)
        break
      default:
        break
    }
  }

  function showPositions(frame) {
    const rows = (Array.isArray(frame.positions) ? frame.positions : []).map((p) =>
      element('tr', { className: p.is_at_risk ? 'at-risk' : '', attributes: { 'data-position-id': String(p.position_id) } }, [
        element('td', { text: p.symbol ?? p.market_id }),
        element('td', { text: p.side, className: p.side }),
        element('td', { text: formatAmount(p.size, 6) }),
        element('td', { text: formatPrice(p.entry_price) }),
        element('td', { text: formatPrice(p.current_price) }),
        element('td', { text: formatAmount(p.unrealized_pnl), className: signClass(p.unrealized_pnl) }),
        element('td', { text: formatAmount(p.health_factor, 3), className: p.is_at_risk ? 'negative' : '' }),
        element('td', { text: formatPrice(p.liquidation_price) }),
      ]),
    )
    $('positions-body').replaceChildren(...rows)
    $('positions-total-pnl').textContent = formatAmount(frame.total_unrealized_pnl)
    $('positions-total-pnl').className = signClass(frame.total_unrealized_pnl)
    $('positions-status').textContent = `${rows.length} open position${rows.length === 1 ? '' : 's'} of ${shortHex(frame.user_address)}`
  }

  function showWarning(title, message) {
    $('liquidation-warning-title').textContent = `⚠ ${title}`
    $('liquidation-warning-message').textContent = message
    $('liquidation-warning').hidden = false
  }

  function hideWarning() {
    $('liquidation-warning').hidden = true
  }

  // --- liquidation candidates -------------------------------------------------------------------

  function onLiquidationsFrame(frame) {
    if (frame.type !== 'liquidation_alert') return
    const candidates = Array.isArray(frame.candidates) ? frame.candidates : []
    $('candidates-count').textContent = String(frame.count ?? candidates.length)
    $('candidates-body').replaceChildren(
      ...candidates.map((c) =>
        element('tr', { attributes: { 'data-position-id': String(c.position_id) } }, [
          element('td', {}, [addressLink(c.user_address)]),
          element('td', { text: c.market_id }),
          element('td', { text: formatAmount(c.health_factor, 3), className: 'negative' }),
          element('td', { text: formatPrice(c.liquidation_price) }),
          element('td', { text: formatPrice(c.current_price) }),
          element('td', { text: formatAmount(c.potential_reward) }),
        ]),
      ),
    )
  }

  // --- the live event feed ----------------------------------------------------------------------

  let lastCursor = null

  /** The text of one event line, or undefined for a frame that is not an event. */
  function describeEvent(frame) {
    const d = frame.data ?? {}
    switch (frame.type) {
      case 'position_opened':
        return `opened ${d.side} ${formatAmount(d.size, 4)} ${d.market_id} at ${formatPrice(d.entry_price)}, ${formatAmount(d.leverage, 1)}x`
      case 'position_closed':
        return `closed ${d.market_id} at ${formatPrice(d.exit_price)}, PnL ${formatAmount(d.realized_pnl)}`
      case 'position_liquidated':
        return `LIQUIDATED ${d.market_id} at ${formatPrice(d.liquidation_price)}, fee ${formatAmount(d.liquidation_fee)}`
      case 'funding_rate_update':
        return `funding ${d.market_id} ${formatRate(d.funding_rate)} (long OI ${formatAmount(d.long_oi, 0)}, short OI ${formatAmount(d.short_oi, 0)})`
      case 'market_listed':
        return `market listed: ${d.symbol ?? d.market_id}`
      case 'chain_reorg':
        return `chain reorganised after block ${d.common_ancestor_block} (${(d.orphaned_blocks ?? []).length} blocks orphaned)`
      default:
        return undefined
    }
  }

  function onEventFrame(frame) {
    if (typeof frame.cursor === 'string') lastCursor = frame.cursor
    // A cursor the gateway no longer knows would be refused on every reconnect: resume live instead.
    if (frame.type === 'error' && frame.code === 'bad_cursor') lastCursor = null
    if (frame.type === 'market_listed' && frame.data?.market_id) addMarket(frame.data.market_id, frame.data.symbol ?? frame.data.market_id)
    const text = describeEvent(frame)
    if (text === undefined) return
    const time = typeof frame.timestamp === 'string' ? new Date(frame.timestamp).toLocaleTimeString() : ''
    const address = frame.data?.user_address
    const item = element('li', { className: frame.type, attributes: { 'data-type': frame.type } }, [
      element('time', { text: time }),
      ...(address ? [addressLink(address)] : []),
      element('span', { text }),
    ])
    const feed = $('event-feed')
    feed.prepend(item)
    while (feed.children.length > FEED_LIMIT) feed.lastElementChild.remove()
  }

  // --- wiring -----------------------------------------------------------------------------------

  function start() {
    for (const market of MARKETS) addMarket(market.id, market.symbol)
    openStream('liquidations', onLiquidationsFrame)
    openStream('events', onEventFrame, { resumeQuery: () => (lastCursor === null ? '' : `?from=${encodeURIComponent(lastCursor)}`) })
    $('address-form').addEventListener('submit', (event) => {
      event.preventDefault()
      watchAddress($('address-input').value)
    })
    $('liquidation-warning-dismiss').addEventListener('click', hideWarning)
    document.addEventListener('click', (event) => {
      const target = event.target instanceof Element ? event.target.closest('[data-address]') : null
      if (target !== null) watchAddress(target.getAttribute('data-address'))
    })
    window.addEventListener('beforeunload', () => {
      for (const stream of [...streams]) stream.close()
    })
    const fromHash = /^#address=(0x[0-9a-fA-F]{40})$/.exec(location.hash)
    if (fromHash) watchAddress(fromHash[1])
    showConnections()
  }

  start()
})()
