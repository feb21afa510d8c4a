// Every resource the client whitelists × list / create / retrieve / update / delete,
// through the client's own calls. Prints one JSON line per call: the resource, the call,
// the HTTP status and content type the server answered. The pytest side judges them.
const Piriod = require('./client')

const today = new Date().toLocaleDateString('en-CA', { timeZone: 'America/Santiago' })

function connect () {
  const piriod = new Piriod({
    apiKey: process.env.PIRIOD_TOKEN,
    organizationID: process.env.PIRIOD_WORKSPACE
  })
  piriod.client.defaults.baseURL = process.env.PIRIOD_BASE_URL
  // Record what the server answered, whatever the client makes of it.
  piriod.client.interceptors.response.use(
    (response) => { piriod.last = response; return response },
    (error) => { piriod.last = error.response; return Promise.reject(error) }
  )
  return piriod
}

// The objects the create bodies point at, made through the client first.
async function fixtures (piriod) {
  const r = piriod.resource
  const customer = await r.create('customers', {
    name: 'Matriz SpA', country: 'CL', tax_id: '76.086.428-5', email: 'pagos@matriz.cl'
  })
  const product = await r.create('products', { name: 'Plataforma' })
  const plan = await r.create('plans', {
    product: product.id, name: 'Pro', amount: 10000, frequency: 'monthly', currency: 'CLP'
  })
  const invoiceBody = {
    customer: customer.id, document: 33, date: today, lines: [{ name: 'Servicio', amount: 10000 }]
  }
  const finalized = await r.create('invoices', invoiceBody)
  await r.create('invoices', {}, 'finalize', finalized.id)
  const supplier = (await piriod.client.post('/suppliers/', {
    name: 'Proveedor SpA', country: 'CL', tax_id: '77.123.456-9'
  })).data
  const template = await r.create('reminders/templates', {
    name: 'Base', subject: 'Factura {number}', body: 'Quedan {amount_due}.'
  })
  return { customer, plan, invoiceBody, finalized, supplier, template }
}

function bodies (f) {
  const invoice = f.invoiceBody
  return {
    addons: [{ name: 'Instalación', amount: 5000, currency: 'CLP', apply_scheme: 'one_time' }, { name: 'Instalación única' }],
    banks: [{ bank_name: 'Banco de Chile', account_number: '00-123-45678-90' }, { holder_name: 'Matriz SpA' }],
    'billers/built_in': [{}, { environment: 'production' }],
    'bulks/invoices': [{ items: [invoice] }, { metadata: { a: '1' } }],
    'bulks/retentions': [{ items: [{ supplier: f.supplier.id, date: today, amount: 100000 }] }, { metadata: { a: '1' } }],
    contacts: [{ customer: f.customer.id, name: 'Ana', email: 'ana@matriz.cl' }, { name: 'Ana Rojas' }],
    coupons: [{ name: 'Bienvenida', amount: 10, discount_scheme: '%', duration_scheme: 'forever' }, { name: 'Bienvenida 10' }],
    creditnotes: [{ invoice: f.finalized.id, reason: 3, lines: [{ name: 'Descuento', amount: 1000 }] }, { description: 'Descuento comercial' }],
    customers: [{ name: 'Cliente Dos', country: 'CL', tax_id: '96.790.240-3' }, { name: 'Cliente 2' }],
    debitnotes: [{ invoice: f.finalized.id, reason: 3, lines: [{ name: 'Intereses', amount: 1000 }] }, { description: 'Intereses' }],
    invoices: [invoice, { note: 'OC 1' }],
    ops: [{}, {}],
    orders: [{ customer: f.customer.id, date: today, lines: [{ name: 'Producto', quantity: 2, amount: 500 }] }, { carrier_name: 'Juan' }],
    orgunits: [{ name: 'Sucursal Centro', sii_branch_code: '81234567' }, { name: 'Centro' }],
    payments: [{ invoice: f.finalized.id, amount: 1000 }, { metadata: { a: '1' } }],
    plans: [{ product: f.plan.product, name: 'Anual', amount: 100000, frequency: 'annual', currency: 'CLP' }, { name: 'Anual 2' }],
    products: [{ name: 'Soporte' }, { name: 'Soporte 24/7' }],
    'reminders/pendings': [{}, {}],
    'reminders/messages': [{}, {}],
    'reminders/templates': [{ name: 'Vencida', subject: 'Factura {number}', body: 'Vence {due_date}.' }, { name: 'Vencida 2' }],
    'reminders/rules': [{ name: 'Tres días', days: 3, template: f.template.id }, { active: false }],
    retentions: [{ supplier: f.supplier.id, date: today, amount: 200000 }, { note: 'Boleta 7' }],
    sources: [{ customer: f.customer.id, usage: 'reusable', card: { number: '4242 4242 4242 4242', exp_month: 12, exp_year: 2030 } }, { metadata: { a: '1' } }],
    subscriptions: [{ customer: f.customer.id, lines: [{ plan: f.plan.id, quantity: 1 }] }, { note: 'Contrato' }],
    usages: [{ subscription_line: 'lin_unknown', quantity: 1, date_time: new Date().toISOString() }, { quantity: 2 }]
  }
}

async function call (piriod, resource, verb, run) {
  piriod.last = undefined
  let id
  try {
    const data = await run()
    id = data && data.id
  } catch (error) {
    if (!piriod.last) throw error // not an HTTP answer: a bug of the script
  }
  const answer = piriod.last
  console.log(JSON.stringify({
    resource,
    verb,
    status: answer.status,
    contentType: answer.headers['content-type'] || null,
    body: typeof answer.data === 'string' ? answer.data.slice(0, 200) : answer.data
  }))
  return id
}

async function main () {
  const piriod = connect()
  const r = piriod.resource
  const f = await fixtures(piriod)
  const all = bodies(f)
  for (const resource of Piriod.RESOURCES) {
    const [createBody, updateBody] = all[resource]
    await call(piriod, resource, 'list', () => r.list(resource))
    const id = await call(piriod, resource, 'create', () => r.create(resource, createBody))
    // Without a created object, an id of the right shape that exists nowhere.
    const target = id || 'obj_01J0000000000000000000000'
    await call(piriod, resource, 'retrieve', () => r.get(resource, target))
    await call(piriod, resource, 'update', () => r.update(resource, target, updateBody))
    await call(piriod, resource, 'delete', () => r.delete(resource, target))
  }
}

main().catch((error) => {
  console.error(error.stack || error)
  process.exit(1)
})
