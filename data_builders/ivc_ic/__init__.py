"""ivc_ic dataset: the IRCCyN/IVC Influence Content video (VGA) database."""
