'''A StatusNotifierWatcher for tests: python3-dbusmock template.

    /usr/bin/python3 -m dbusmock --template tests/support/sni_watcher.py [-p '{"host": false}']

Stands in for a desktop panel's watcher on a private session bus: it records the items that
register (property RegisteredStatusNotifierItems) and reports a host unless "host" is false.
'''

import dbus

BUS_NAME = 'org.kde.StatusNotifierWatcher'
MAIN_OBJ = '/StatusNotifierWatcher'
MAIN_IFACE = 'org.kde.StatusNotifierWatcher'
SYSTEM_BUS = False


def load(mock, parameters):
    mock.AddProperties(MAIN_IFACE, {
        'RegisteredStatusNotifierItems': dbus.Array([], signature='s'),
        'IsStatusNotifierHostRegistered': dbus.Boolean(parameters.get('host', True)),
        'ProtocolVersion': dbus.Int32(0),
    })
    mock.AddMethods(MAIN_IFACE, [
        ('RegisterStatusNotifierItem', 's', '',
         'service = args[0] if args[0].startswith(":") or not args[0].startswith("/") else sender\n'
         'items = [str(item) for item in self.Get("org.kde.StatusNotifierWatcher", "RegisteredStatusNotifierItems")]\n'
         'items.append(str(service))\n'
         'self.Set("org.kde.StatusNotifierWatcher", "RegisteredStatusNotifierItems", dbus.Array(items, signature="s"))\n'
         'self.EmitSignal("org.kde.StatusNotifierWatcher", "StatusNotifierItemRegistered", "s", [service])'),
        ('RegisterStatusNotifierHost', 's', '', ''),
    ])
