"""Payment gateways behind one interface (base.Gateway), looked up by kind (registry)."""
