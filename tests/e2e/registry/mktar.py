#!/usr/bin/env python3
"""mktar.py OUT ITEM...: writes a gzip-compressed tar archive holding
exactly the given items, to build archives that `sluice fn package` would
never make (paths, links, unknown files, bad modules) for the registry's
end-to-end tests. ITEM is NAME=FILE (a regular file NAME with FILE's
content), link:NAME=TARGET (a symbolic link) or dir:NAME (a directory)."""
import io
import sys
import tarfile


def add(tar, item):
    if item.startswith("link:"):
        name, target = item[5:].split("=", 1)
        info = tarfile.TarInfo(name)
        info.type = tarfile.SYMTYPE
        info.linkname = target
        tar.addfile(info)
    elif item.startswith("dir:"):
        info = tarfile.TarInfo(item[4:])
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    else:
        name, path = item.split("=", 1)
        with open(path, "rb") as f:
            data = f.read()
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


with tarfile.open(sys.argv[1], "w:gz") as out:
    for item in sys.argv[2:]:
        add(out, item)
