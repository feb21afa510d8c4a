// Piriod's Node client as published (piriod-sdk 0.1.3): an axios instance with the
// token and workspace headers, a whitelist of resources, and five calls. Written here to
// its documented behaviour because the package is not on the npm registry CI reaches;
// the flows use only these calls, so they run unchanged on `require('piriod-sdk')`.
const axios = require('axios')

const RESOURCES = [
  'addons', 'banks', 'billers/built_in', 'bulks/invoices', 'bulks/retentions', 'contacts',
  'coupons', 'creditnotes', 'customers', 'debitnotes', 'invoices', 'ops', 'orders',
  'orgunits', 'payments', 'plans', 'products', 'reminders/pendings', 'reminders/messages',
  'reminders/templates', 'reminders/rules', 'retentions', 'sources', 'subscriptions',
  'usages'
]

class HttpError extends Error {
  constructor (name, message, status) {
    super(message)
    this.name = name
    this.status = status
  }
}

// The client flattens a JSON error body into one message and keeps a status only for
// 400, 401, 404 and 500; any other status arrives as a GeneralError with status 0.
function messageOf (data) {
  if (typeof data === 'string') return data
  if (Array.isArray(data)) return data.map(messageOf).join(', ')
  if (data && typeof data === 'object') {
    if (data.non_field_errors) return messageOf(data.non_field_errors)
    return Object.values(data).map(messageOf).join(', ')
  }
  return 'Unknown error'
}

const NAMED = { 400: 'BadRequestError', 401: 'UnauthorizedError', 404: 'NotFoundError', 500: 'InternalServerError' }

function raise (error) {
  if (!error.response) throw new HttpError('GeneralError', error.message, 0)
  const { status, data } = error.response
  const name = NAMED[status] || 'GeneralError'
  const failure = new HttpError(name, messageOf(data), NAMED[status] ? status : 0)
  // Kept for the tests' diagnostics; a Piriod user only sees name, message and status.
  failure.body = data
  failure.httpStatus = status
  throw failure
}

function check (resource) {
  if (!RESOURCES.includes(resource)) {
    throw new Error(`Invalid resource: ${resource}. Valid resources are: ${RESOURCES.join(', ')}`)
  }
}

class Resource {
  constructor (client) { this.client = client }

  async create (resource, data, action, id) {
    check(resource)
    let path = `/${resource}/`
    if (id) path += id + '/'
    if (action) path += action + '/'
    try { return (await this.client.post(path, data)).data } catch (error) { raise(error) }
  }

  async update (resource, id, data) {
    check(resource)
    try { return (await this.client.put(`/${resource}/${id}/`, data)).data } catch (error) { raise(error) }
  }

  async delete (resource, id) {
    check(resource)
    try { return (await this.client.delete(`/${resource}/${id}/`)).data } catch (error) { raise(error) }
  }

  async get (resource, id, action = '') {
    check(resource)
    let path = `/${resource}/${id}/`
    if (action) path += action + '/'
    try { return (await this.client.get(path)).data } catch (error) { raise(error) }
  }

  async list (resource, query = {}) {
    check(resource)
    try { return (await this.client.get(`/${resource}/`, { params: query })).data } catch (error) { raise(error) }
  }
}

class Piriod {
  constructor ({ apiKey, organizationID }) {
    const headers = { Authorization: `Token ${apiKey}`, 'Content-Type': 'application/json' }
    if (organizationID) headers['X-Simple-Workspace'] = organizationID
    this.client = axios.create({ baseURL: 'https://api.piriod.com', headers })
    this.resource = new Resource(this.client)
  }
}

module.exports = Piriod
module.exports.RESOURCES = RESOURCES
