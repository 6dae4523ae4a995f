import json, os

def execution_enabled(path=os.environ.get('KILL_SWITCH_FILE', 'kill-switch.json')):
    try:
        with open(path) as f:
            return json.load(f).get('execution_enabled') is True
    except FileNotFoundError:
        return False

def run(mode):
    if mode == 'LIVE' and not execution_enabled():
        raise PermissionError('execution disabled')
    return 'ok:' + mode
