"""Build environment constants kept from the original package."""

#: Name of the native extension module inside the package.
RSTH_MOD_NAME = '_rtpsynth'
