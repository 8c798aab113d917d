#!/usr/bin/python3
'''Looks at the desktop as a panel would, on the session bus in DBUS_SESSION_BUS_ADDRESS.

    desktop.py tray                 the tray item: title, tooltip, icon colour, menu (JSON)
    desktop.py click LABEL...       clicks the menu item at that path of labels (com.canonical.dbusmenu
                                    Event "clicked"); "#N" stands for the Nth entry of a submenu
    desktop.py notifications        every Notify call the mock notification server got (JSON)
    desktop.py act ID ACTION        the person chooses ACTION on notification ID

Prints {"error": ...} and exits 1 when there is no tray item (yet).
'''
import json
import sys
import time

import dbus

ITEM_IFACE = 'org.kde.StatusNotifierItem'
MENU_IFACE = 'com.canonical.dbusmenu'
NOTIFY_PATH = '/org/freedesktop/Notifications'

# The icon's ring colours (src/agent/icons.rs).
COLOURS = {
    'green': (0x2e, 0xa0, 0x43),
    'amber': (0xf0, 0xa0, 0x20),
    'red': (0xd9, 0x2d, 0x20),
    'blue': (0x1f, 0x6f, 0xeb),
}


def item_name(bus):
    names = [str(name) for name in bus.list_names()
             if str(name).startswith('org.kde.StatusNotifierItem-')]
    return names[0] if names else None


def colour_of(pixmaps):
    '''The state colour that most opaque pixels of the largest pixmap are (ARGB32, big-endian).'''
    if not pixmaps:
        return None
    width, height, data = max(pixmaps, key=lambda pixmap: pixmap[0])
    data = bytes(data)
    counts = {}
    for at in range(0, len(data), 4):
        alpha, red, green, blue = data[at:at + 4]
        if alpha != 255:
            continue
        for name, (r, g, b) in COLOURS.items():
            if abs(r - red) + abs(g - green) + abs(b - blue) < 30:
                counts[name] = counts.get(name, 0) + 1
    return max(counts, key=counts.get) if counts else None


def menu_node(node):
    ident, properties, children = node
    return {
        'id': int(ident),
        'label': str(properties.get('label', '')),
        'enabled': bool(properties.get('enabled', True)),
        'type': str(properties.get('type', 'standard')),
        'toggle': str(properties.get('toggle-type', '')),
        'checked': int(properties.get('toggle-state', -1)) == 1,
        'children': [menu_node(child) for child in children],
    }


def tray(bus):
    name = item_name(bus)
    if name is None:
        return None
    item = bus.get_object(name, '/StatusNotifierItem')
    properties = dbus.Interface(item, 'org.freedesktop.DBus.Properties').GetAll(ITEM_IFACE)
    menu_path = str(properties.get('Menu', '/MenuBar'))
    menu = dbus.Interface(bus.get_object(name, menu_path), MENU_IFACE)
    _revision, layout = menu.GetLayout(0, -1, dbus.Array([], signature='s'))
    tooltip = properties.get('ToolTip', ('', [], '', ''))
    return {
        'service': name,
        'title': str(properties.get('Title', '')),
        'status': str(properties.get('Status', '')),
        'tooltip': str(tooltip[3]) if len(tooltip) > 3 else '',
        'colour': colour_of(properties.get('IconPixmap', [])),
        'menu': menu_node(layout)['children'],
    }


def main():
    bus = dbus.SessionBus()
    command = sys.argv[1]
    if command == 'tray':
        state = tray(bus)
        if state is None:
            print(json.dumps({'error': 'no tray item on the bus'}))
            return 1
        print(json.dumps(state))
    elif command == 'click':
        # Ids change whenever the menu is rebuilt, so the item is looked up by its labels now.
        state = tray(bus)
        if state is None:
            print(json.dumps({'error': 'no tray item on the bus'}))
            return 1
        entries = state['menu']
        found = None
        for label in sys.argv[2:]:
            if label.startswith('#'):
                found = entries[int(label[1:])]
            else:
                found = next(entry for entry in entries if entry['label'] == label)
            entries = found['children']
        menu = dbus.Interface(bus.get_object(state['service'], '/MenuBar'), MENU_IFACE)
        try:
            menu.Event(dbus.Int32(found['id']), 'clicked', dbus.Int32(0, variant_level=1),
                       dbus.UInt32(int(time.time())))
        except dbus.exceptions.DBusException as error:
            # "Quit" may end the agent before its answer to the click is sent: the click arrived.
            if error.get_dbus_name() != 'org.freedesktop.DBus.Error.NoReply':
                raise
    elif command == 'notifications':
        mock = dbus.Interface(bus.get_object('org.freedesktop.Notifications', NOTIFY_PATH),
                              'org.freedesktop.DBus.Mock')
        notes = []
        for _when, method, args in mock.GetCalls():
            if method != 'Notify':
                continue
            actions = [str(action) for action in args[5]]
            notes.append({
                'id': len(notes) + 1,
                'app': str(args[0]),
                'summary': str(args[3]),
                'body': str(args[4]),
                'actions': dict(zip(actions[0::2], actions[1::2])),
                'urgency': int(args[6].get('urgency', 1)),
            })
        print(json.dumps(notes))
    elif command == 'act':
        mock = dbus.Interface(bus.get_object('org.freedesktop.Notifications', NOTIFY_PATH),
                              'org.freedesktop.DBus.Mock')
        mock.EmitSignal('org.freedesktop.Notifications', 'ActionInvoked', 'us',
                        [dbus.UInt32(int(sys.argv[2])), sys.argv[3]])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
