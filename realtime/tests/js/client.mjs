// A standard Yjs client (the y-websocket provider) editing a workflow doc next to Rust clients.
// Usage: node client.mjs <server ws url> <workflow id> <token> <node id> <expected node ids, comma-separated>
// It waits for the first sync, checks the server-made skeleton, adds its node, edits the config of
// every node it did not create, waits until it sees every expected node, then prints the doc's
// "workflow" map as JSON and exits.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'

const [serverUrl, workflowId, token, nodeId, expected] = process.argv.slice(2)
const wanted = expected.split(',')

const fail = (why) => {
  console.error(why)
  process.exit(1)
}
setTimeout(() => fail('timed out'), 20000)

const doc = new Y.Doc()
const provider = new WebsocketProvider(serverUrl, workflowId, doc, {
  WebSocketPolyfill: WebSocket,
  params: { token },
  disableBc: true
})
provider.awareness.setLocalStateField('user', { name: 'yjs', color: '#E84B4B' })

const workflow = doc.getMap('workflow')

provider.once('sync', (synced) => {
  if (!synced) fail('not synced')
  const nodes = workflow.get('nodes')
  const edges = workflow.get('edges')
  if (!(nodes instanceof Y.Map) || !(edges instanceof Y.Map)) fail('the server did not create the skeleton')
  doc.transact(() => {
    const config = new Y.Map()
    config.set('seconds', 2)
    const node = new Y.Map()
    node.set('kind', 'logic.delay')
    node.set('label', 'From Yjs')
    node.set('x', 120)
    node.set('y', 40.5)
    node.set('config', config)
    nodes.set(nodeId, node)
    for (const [id, other] of nodes.entries()) {
      if (id !== nodeId) other.get('config').set('touched_by_yjs', true)
    }
  })
  const check = () => {
    const present = [...workflow.get('nodes').keys()]
    if (wanted.every((id) => present.includes(id))) {
      // let our own last update leave before closing
      setTimeout(() => {
        process.stdout.write(JSON.stringify(workflow.toJSON()) + '\n')
        provider.destroy()
        process.exit(0)
      }, 200)
      doc.off('update', check)
      return true
    }
    return false
  }
  if (!check()) doc.on('update', check)
})
