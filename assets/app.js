// Live updates for the portal page (progressively enhanced; the page works without it).
