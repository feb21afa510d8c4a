// Piriod's four integration flows, driven through the client's own calls against a live
// server: `node flows.js <flow>` with PIRIOD_BASE_URL, PIRIOD_TOKEN and PIRIOD_WORKSPACE.
// Exits non-zero, with the failed assertion on stderr, when the server does not answer
// as Piriod documents.
const assert = require('assert/strict')
const Piriod = require('./client')

function connect () {
  const piriod = new Piriod({
    apiKey: process.env.PIRIOD_TOKEN,
    organizationID: process.env.PIRIOD_WORKSPACE
  })
  // The one setting a Piriod user changes to use this server instead of Piriod's.
  piriod.client.defaults.baseURL = process.env.PIRIOD_BASE_URL
  return piriod
}

// Amounts are JSON numbers in Piriod's schema: a client adds to them directly.
function assertNumeric (object, field, expected) {
  assert.equal(typeof object[field], 'number', `${field} is ${JSON.stringify(object[field])}, not a number`)
  assert.equal(object[field] + 1, expected + 1)
}

// Today in the workspace's timezone (Chile's workspaces date their documents there).
const today = new Date().toLocaleDateString('en-CA', { timeZone: 'America/Santiago' })

async function customer (piriod, name) {
  return piriod.resource.create('customers', {
    name, country: 'CL', tax_id: '76.086.428-5', email: 'pagos@andes.cl'
  })
}

const flows = {
  // customer → invoice (draft) → partial update → finalize → payment
  async oneShot (piriod) {
    const created = await customer(piriod, 'Comercial Andes SpA')
    const renamed = await piriod.resource.update('customers', created.id, { name: 'Comercial Andes Ltda' })
    assert.equal(renamed.name, 'Comercial Andes Ltda')
    assert.equal(renamed.email, 'pagos@andes.cl')

    const invoice = await piriod.resource.create('invoices', {
      customer: created.id,
      document: 33,
      date: today,
      lines: [{ name: 'Plan Pro', amount: 10000, quantity: 2 }]
    })
    assert.equal(invoice.status, 'draft')
    const noted = await piriod.resource.update('invoices', invoice.id, { note: 'OC 4411' })
    assert.equal(noted.note, 'OC 4411')
    assert.equal(noted.lines.length, 1)

    const finalized = await piriod.resource.create('invoices', {}, 'finalize', invoice.id)
    assert.equal(finalized.status, 'finalized')
    assert.equal(finalized.number, 1)

    const payment = await piriod.resource.create('payments', { invoice: invoice.id })
    assert.equal(payment.status, 'succeeded')
    const paid = await piriod.resource.get('invoices', invoice.id)
    assert.equal(paid.status, 'paid')
    const listed = await piriod.resource.list('invoices', { customer: created.id })
    assert.equal(listed.count, 1)
    assertNumeric(paid, 'total', 23800)
  },

  // catalog → subscription → process → one invoice, never two
  async subscriptions (piriod) {
    const created = await customer(piriod, 'Comercial Los Aromos')
    const product = await piriod.resource.create('products', { name: 'Plataforma' })
    const plan = await piriod.resource.create('plans', {
      product: product.id, name: 'Pro', amount: 10000, frequency: 'monthly', currency: 'CLP'
    })
    const renamed = await piriod.resource.update('plans', plan.id, { name: 'Pro mensual' })
    assert.equal(renamed.name, 'Pro mensual')

    const subscription = await piriod.resource.create('subscriptions', {
      customer: created.id, lines: [{ plan: plan.id, quantity: 2 }]
    })
    assert.equal(subscription.status, 'active')
    const processed = await piriod.resource.create('subscriptions', {}, 'process', subscription.id)
    assert.equal(processed.id, subscription.id)
    const again = await piriod.resource.create('subscriptions', {}, 'process', subscription.id)
    assert.equal(again.next_billing, processed.next_billing)

    const invoices = await piriod.resource.list('invoices', { customer: created.id })
    assert.equal(invoices.count, 1, 'process after create issues the period\'s invoice once')
    const noted = await piriod.resource.update('subscriptions', subscription.id, { note: 'Contrato 7' })
    assert.equal(noted.note, 'Contrato 7')
    assertNumeric(invoices.results[0], 'total', 23800)
  },

  // finalized invoice → hosted payment link (a path outside the client's resource list:
  // the client's own axios instance carries the same headers)
  async paymentLinks (piriod) {
    const created = await customer(piriod, 'Servicios Australes')
    const invoice = await piriod.resource.create('invoices', {
      customer: created.id, document: 33, date: today, lines: [{ name: 'Asesoría', amount: 50000 }]
    })
    await piriod.resource.create('invoices', {}, 'finalize', invoice.id)
    const link = (await piriod.client.post('/payment_links/links/', { invoice: invoice.id })).data
    assert.equal(link.status, 'open')
    assert.match(link.url, /\/publishable\/payment_links\/links\/.+\/hosted\/$/)
    const page = await piriod.client.get(link.url)
    assert.equal(page.status, 200)
    assertNumeric(link, 'amount', 59500)
  },

  // supplier → purchase, and a retention finalized with GET as the client does it
  async procurement (piriod) {
    const supplier = (await piriod.client.post('/suppliers/', {
      name: 'Imprenta Austral SpA', country: 'CL', tax_id: '77.123.456-9'
    })).data
    const purchase = (await piriod.client.post('/purchases/', {
      supplier: supplier.id, document: 33, number: 4521, date: today,
      lines: [{ name: 'Resmas de papel', quantity: 3, amount: 4990 }]
    })).data
    assert.equal(purchase.status, 'draft')

    const retention = await piriod.resource.create('retentions', {
      supplier: supplier.id, date: today, amount: 450000
    })
    const noted = await piriod.resource.update('retentions', retention.id, { note: 'Boleta 12' })
    assert.equal(noted.note, 'Boleta 12')
    const again = await piriod.resource.update('retentions', retention.id, noted)
    assert.equal(again.id, retention.id)
    const finalized = await piriod.resource.get('retentions', retention.id, 'finalize')
    assert.equal(finalized.status, 'finalized')
    assertNumeric(purchase, 'total', 17814)
  }
}

async function main () {
  const name = process.argv[2]
  if (!flows[name]) throw new Error(`No flow ${name}; flows: ${Object.keys(flows).join(', ')}`)
  await flows[name](connect())
  console.log(`flow ${name}: ok`)
}

main().catch((error) => {
  console.error(error.stack || error)
  if (error.body !== undefined) console.error(`HTTP ${error.httpStatus}: ${JSON.stringify(error.body)}`)
  process.exit(1)
})
